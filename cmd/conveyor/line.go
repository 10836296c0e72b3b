package main

import (
	"context"
	"fmt"
	"image/color"
	"log"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
	"github.com/conveyor-vision/conveyor/pipeline/track"
	"github.com/conveyor-vision/conveyor/pipeline/web"
	"github.com/conveyor-vision/conveyor/trt"
)

// built is a line made from a Config, with handles the summary needs.
type built struct {
	line    *pipeline.Line
	sources []pipeline.Source
	model   *infer.Model
	backend string
	video   *sink.Video
	// depthVideo is the colourised depth output (--depth-out), if any.
	depthVideo *sink.Video
	events     *sink.Messages
	mq         *mq.Publisher
	web        *web.Server
	// mqLossOK: with --amqp-offline, messages left unconfirmed at the end are
	// reported in the summary rather than failing the run.
	mqLossOK bool
	// after is closed once the line has finished (shared engine state).
	after closer
}

// closer is what build has opened so far, closed if a later step fails.
type closer []interface{ Close() error }

func (c closer) close() {
	for i := len(c) - 1; i >= 0; i-- {
		_ = c[i].Close()
	}
}

// detectorOptions turns the config into infer.Options.
func detectorOptions(cfg Config) (infer.Options, error) {
	size, err := models.ParseInputSize(cfg.InputSize)
	if err != nil {
		return infer.Options{}, err
	}
	return infer.Options{
		Model: cfg.Model,
		Spec:  cfg.ModelType,
		Input: size,
		Decoder: models.DecoderOptions{
			ScoreThreshold: float32(cfg.Score),
			NMSThreshold:   float32(cfg.NMS),
			MinSize:        float32(cfg.MinSize),
		},
	}, nil
}

// chooseBackend resolves --backend auto and checks that the asked-for one
// exists in this build.
func chooseBackend(name string) (string, error) {
	switch name {
	case "opencv":
		return name, nil
	case "tensorrt":
		if err := trt.Available(); err != nil {
			return "", fmt.Errorf("backend tensorrt: %w", err)
		}
		return name, nil
	}
	if trt.Available() == nil {
		return "tensorrt", nil
	}
	return "opencv", nil
}

// openSources opens every --source, in order.
func openSources(cfg Config) ([]pipeline.Source, error) {
	var out []pipeline.Source
	for _, uri := range cfg.Sources {
		src, err := openSource(cfg, uri)
		if err != nil {
			for _, s := range out {
				_ = s.Close()
			}
			return nil, err
		}
		out = append(out, src)
	}
	return out, nil
}

// openSource opens one source as --source would (also for the HTTP API).
func openSource(cfg Config, uri string) (pipeline.Source, error) {
	src, err := camera.Open(uri, camera.Options{Repeat: cfg.Repeat, Realtime: cfg.Realtime, Reconnect: cfg.Reconnect})
	if err != nil {
		return nil, err
	}
	if cfg.MaxFrames > 0 {
		src = pipeline.Limit(src, cfg.MaxFrames)
	}
	return src, nil
}

// build validates everything that can be validated (model, outputs,
// sources) and assembles the line:
//
//	sources → preprocess → infer ×N → decode → blur → osd → sinks
func build(ctx context.Context, cfg Config, quit func()) (*built, error) {
	opts, err := detectorOptions(cfg)
	if err != nil {
		return nil, err
	}
	backend, err := chooseBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	model, err := infer.Open(opts)
	if err != nil {
		return nil, err
	}
	if cfg.Threads > 0 {
		if err := infer.SetNumThreads(cfg.Threads); err != nil {
			return nil, err
		}
	}
	var opened closer
	b := &built{line: pipeline.New(), model: model, backend: backend}
	newEngine := func() (infer.Engine, error) { return model.NewEngine() }
	if backend == "tensorrt" {
		tm, err := openTensorRT(ctx, cfg, model)
		if err != nil {
			return nil, err
		}
		b.after = append(b.after, tm) // closed after the line: engines hold it
		newEngine = func() (infer.Engine, error) { return tm.NewEngine() }
	}

	// Outputs first: a bad output path should fail before a camera opens.
	var sinks []pipeline.Sink
	if cfg.Out != "" {
		v, err := sink.NewVideo(sink.VideoOptions{Path: cfg.Out, SourceFPS: b.sourceFPS})
		if err != nil {
			return nil, err
		}
		opened = append(opened, v)
		b.video = v
		sinks = append(sinks, v)
	}
	if cfg.Events != "" {
		j, err := sink.NewJSONL(cfg.Events, nil)
		if err != nil {
			opened.close()
			return nil, err
		}
		filter := sink.AllFrames
		if cfg.SkipEmpty {
			filter = sink.WithObjects
		}
		m := sink.NewMessages(j, filter)
		opened = append(opened, m)
		b.events = m
		sinks = append(sinks, m)
	}
	if cfg.AMQP != "" {
		pub, err := openMQ(ctx, cfg)
		if err != nil {
			opened.close()
			return nil, err
		}
		filter := sink.WithObjects
		switch {
		case cfg.PerEvent:
			filter = sink.TrackChanges
		case cfg.IncludeEmpty:
			filter = sink.AllFrames
		}
		s := sink.NewMessages(pub, filter)
		opened = append(opened, s)
		b.mq, b.mqLossOK = pub, cfg.AMQPOffline
		sinks = append(sinks, s)
	}
	if cfg.DepthOut != "" {
		v, err := sink.NewVideo(sink.VideoOptions{Path: cfg.DepthOut, SourceFPS: b.sourceFPS})
		if err != nil {
			opened.close()
			return nil, fmt.Errorf("depth-out: %w", err)
		}
		col, err := depth.NewColorizer(float32(cfg.DepthRange))
		if err != nil {
			_ = v.Close()
			opened.close()
			return nil, err
		}
		dv := depth.NewVideoSink(col, v)
		b.depthVideo = v
		opened = append(opened, dv)
		sinks = append(sinks, dv)
	}
	if cfg.Window {
		w, err := sink.NewWindow("conveyor", cfg.Tile, quit)
		if err != nil {
			opened.close()
			return nil, err
		}
		opened = append(opened, w)
		sinks = append(sinks, w)
	}

	sources, err := openSources(cfg)
	if err != nil {
		opened.close()
		return nil, err
	}
	b.sources = sources
	policy, _ := pipeline.ParsePolicy(cfg.Policy)
	sourceLink := pipeline.LinkOptions{Policy: policy, Queue: cfg.Queue}
	for _, s := range sources {
		b.line.AddSource(s, sourceLink)
	}
	// With --api the line serves sources that come and go: it runs until
	// stopped, not until its sources end.
	b.line.KeepAlive = cfg.API

	// Stages. Each constructor's Processor is closed by the line once added;
	// until then, by us.
	link := pipeline.LinkOptions{Queue: cfg.Queue}
	// With TensorRT and the CUDA kernels, preprocessing happens on the GPU
	// inside the inference stage: a frame crosses the bus once.
	gpu := backend == "tensorrt" && trt.FramesBuilt
	if !gpu {
		pre, err := model.NewPreprocess()
		if err != nil {
			b.abandon(opened)
			return nil, err
		}
		b.line.AddStage("preprocess", link, pre)
	}
	var engines []infer.Engine
	for i := 0; i < cfg.InferWorkers; i++ {
		e, err := newEngine()
		if err != nil {
			for _, e := range engines {
				_ = e.Close()
			}
			b.abandon(opened)
			return nil, err
		}
		engines = append(engines, e)
	}
	// Each worker takes over its engine: closing the worker closes it.
	single := make([]pipeline.Processor, 0, len(engines))
	batch := make([]pipeline.BatchProcessor, 0, len(engines))
	name := "infer"
	for i, e := range engines {
		if gpu {
			name = "gpu-infer"
			fe, _ := e.(infer.FrameEngine)
			g, err := infer.NewGPUInfer(model.Spec, model.Input, fe)
			if err != nil {
				for _, e := range engines[i:] {
					_ = e.Close()
				}
				for _, w := range single {
					_ = w.Close()
				}
				b.abandon(opened)
				return nil, err
			}
			single, batch = append(single, g), append(batch, g)
			continue
		}
		single, batch = append(single, infer.NewInfer(e)), append(batch, infer.NewBatchInfer(e))
	}
	if cfg.Batch > 1 {
		b.line.AddBatchStage(name, pipeline.BatchOptions{LinkOptions: link, Max: cfg.Batch, Timeout: cfg.BatchTimeout}, batch...)
	} else {
		b.line.AddStage(name, link, single...)
	}
	dec, err := model.NewDecode()
	if err != nil {
		b.abandon(opened)
		return nil, err
	}
	b.line.AddStage("decode", link, dec)
	if cfg.MaxDistance > 0 || hasDepth(cfg.Sources) || cfg.API {
		dp, err := depth.New(depth.Options{MaxDistance: float32(cfg.MaxDistance)})
		if err != nil {
			b.abandon(opened)
			return nil, err
		}
		b.line.AddStage("depth", link, dp)
	}
	if cfg.Track {
		tr, err := track.New(track.Options{IoU: cfg.TrackIoU, MinHits: cfg.TrackMinHits, MaxAge: cfg.TrackMaxAge})
		if err != nil {
			b.abandon(opened)
			return nil, err
		}
		b.line.AddStage("track", link, tr) // one worker: tracks are per source, in order
	}
	mode, _ := post.ParseBlurMode(cfg.Blur)
	if mode != post.NoBlur {
		blur, err := post.NewBlur(post.BlurOptions{
			Mode: mode, Ellipse: cfg.BlurShape == "ellipse", Pad: float32(cfg.BlurPad),
			Strength: 0.5, Blocks: 8, Color: color.RGBA{0, 0, 0, 0},
		})
		if err != nil {
			b.abandon(opened)
			return nil, err
		}
		b.line.AddStage("blur", link, blur)
	}
	if cfg.OSD {
		b.line.AddStage("osd", link, post.NewOSD(post.OSDOptions{Boxes: true, Labels: true, Landmarks: true, FPS: true}))
	}
	b.line.AddSink(sinks...)
	if cfg.HTTP != "" {
		// Last: the web server probes every stage that exists now.
		var collectors []prometheus.Collector
		if m := matsCollector(); m != nil {
			collectors = append(collectors, m)
		}
		if b.mq != nil {
			collectors = append(collectors, mqCollector(b.mq))
		}
		o := web.Options{
			Addr: cfg.HTTP, StreamFPS: cfg.HTTPFPS, Quality: cfg.HTTPQuality, StreamWidth: cfg.HTTPWidth,
			Title: "conveyor", Collectors: collectors,
		}
		if cfg.API {
			o.OpenSource = func(_ context.Context, uri string) (pipeline.Source, pipeline.LinkOptions, error) {
				src, err := openSource(cfg, uri)
				return src, sourceLink, err
			}
		}
		srv, err := web.New(b.line, o)
		if err != nil {
			b.abandon(opened)
			return nil, fmt.Errorf("http: %w", err)
		}
		b.web = srv
		b.after = append(b.after, srv)
		b.line.AddSink(srv.Sink())
	}
	return b, nil
}

// sourceFPS is a source's nominal frame rate (0 when unknown), for the
// video files: sources attached through the API included.
func (b *built) sourceFPS(id int) float64 {
	for _, s := range b.line.Sources() {
		if s.ID == id {
			return s.FPS
		}
	}
	return 0
}

// hasDepth says whether a source gives depth (RealSense).
func hasDepth(sources []string) bool {
	for _, s := range sources {
		if strings.HasPrefix(s, "realsense:") {
			return true
		}
	}
	return false
}

// abandon releases what a failed build opened, the line's sources and
// stages included.
func (b *built) abandon(opened closer) {
	opened.close()
	_ = b.line.Close()
	b.after.close()
}

// openTensorRT loads (building or reusing the cached engine) the model for
// TensorRT, and makes the preprocess stage produce the engine's input size.
func openTensorRT(ctx context.Context, cfg Config, model *infer.Model) (*trt.Model, error) {
	prec, err := trt.ParsePrecision(cfg.Precision)
	if err != nil {
		return nil, err
	}
	tm, err := trt.Load(ctx, trt.Options{
		BuildOptions: trt.BuildOptions{ONNX: model.Path, Precision: prec, Logf: log.Printf},
		Engine:       cfg.Engine,
	})
	if err != nil {
		return nil, err
	}
	if in := tm.Inputs(); len(in) == 1 && len(in[0].Shape) == 4 && in[0].Shape[2] > 0 && in[0].Shape[3] > 0 {
		model.Input = models.InputSize{W: in[0].Shape[3], H: in[0].Shape[2]}
	}
	return tm, nil
}

// openMQ connects to RabbitMQ (retrying for --amqp-start-timeout) and makes
// the publishing sink.
func openMQ(ctx context.Context, cfg Config) (*mq.Publisher, error) {
	url := cfg.AMQP
	if url == "env" {
		url = "" // mq reads CONVEYOR_AMQP_URL
	}
	policy, err := mq.ParseOutboxPolicy(cfg.OutboxPolicy)
	if err != nil {
		return nil, err
	}
	pub, err := mq.NewPublisher(ctx, mq.Config{
		Endpoint:     mq.Endpoint{URL: url, CAFile: cfg.AMQPCA},
		Exchange:     cfg.Exchange,
		Declare:      true,
		RoutingKey:   cfg.RoutingKey,
		OutboxSize:   cfg.Outbox,
		OutboxPolicy: policy,
		StartTimeout: cfg.AMQPStartTimeout,
		StartOffline: cfg.AMQPOffline,
	})
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// warnings gathers what the sources report without failing (a truncated file).
func (b *built) warnings() []string {
	var out []string
	for _, s := range b.sources {
		if w, ok := s.(interface{ Warnings() []string }); ok {
			out = append(out, w.Warnings()...)
		}
	}
	return out
}

// trt.Engine implements infer.Engine without importing it (trt stays free
// of OpenCV); this is where the two meet, so the check is here.
var _ infer.Engine = (*trt.Engine)(nil)
