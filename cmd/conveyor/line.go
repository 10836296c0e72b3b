package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	neturl "net/url"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
	"github.com/conveyor-vision/conveyor/pipeline/track"
	"github.com/conveyor-vision/conveyor/pipeline/web"
	"github.com/conveyor-vision/conveyor/trt"
)

// built is a line made from a Config, with the handles the summary needs.
type built struct {
	cfg     Config
	line    *pipeline.Line
	sources []pipeline.Source
	model   *infer.Model
	backend infer.Backend
	video   *sink.Video
	// stills is the pictures output (--out to a folder, a %s pattern or a
	// picture file), instead of video.
	stills *sink.Stills
	// refine is the small-face pass's workers (their Stats for tests).
	refine []*infer.Refine
	// depthVideo is the colourised depth output (--depth-out), if any.
	depthVideo *sink.Video
	events     *sink.Messages
	mq         *mq.Publisher
	web        *web.Server
	// after is closed once the line has finished: what the line's stages
	// use but do not own (the TensorRT engine, the web server).
	after closer
	// newEngine opens one inference engine for one worker.
	newEngine func() (infer.Engine, error)
	// tuning is the workers and threads the line runs with (defaults.go).
	tuning Tuning
}

// closer is a list of things to close, last opened first.
type closer []interface{ Close() error }

func (c closer) close() {
	for i := len(c) - 1; i >= 0; i-- {
		_ = c[i].Close()
	}
}

// build validates everything that can be validated (model, outputs,
// sources) and assembles the line:
//
//	sources → preprocess → infer ×N → decode → depth → track → blur → osd → sinks
//
// Each step adds what it makes to the line at once, so that the line owns
// it: if a later step fails, closing the line releases it.
func build(ctx context.Context, cfg Config, quit func()) (*built, error) {
	b := &built{cfg: cfg, line: pipeline.New()}
	// With --api the line serves sources that come and go: it runs until
	// stopped, not until its sources end.
	b.line.KeepAlive = cfg.Run.API
	steps := []func(context.Context) error{
		b.openModel,
		func(ctx context.Context) error { return b.addOutputs(ctx, quit) }, // before the sources: a bad path fails before a camera opens
		b.addSources,
		b.addDetection,
		b.addPost,
		b.addWeb, // last: the web server probes every stage that exists now
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			_ = b.line.Close()
			b.after.close()
			return nil, err
		}
	}
	return b, nil
}

// openModel checks the model and picks the backend that runs it.
func (b *built) openModel(ctx context.Context) error {
	backend, err := chooseBackend(b.cfg.Detect.Backend)
	if err != nil {
		return err
	}
	model, err := infer.Open(b.cfg.Detect)
	if err != nil {
		return err
	}
	if t := b.cfg.Detect.Threads; t > 0 {
		if err := infer.SetNumThreads(t); err != nil {
			return err
		}
	}
	b.model, b.backend = model, backend
	b.newEngine = func() (infer.Engine, error) { return model.NewEngine() }
	if backend == infer.TensorRTBackend {
		tm, err := openTensorRT(ctx, b.cfg, model)
		if err != nil {
			return err
		}
		b.after = append(b.after, tm) // closed after the line: engines hold it
		b.newEngine = func() (infer.Engine, error) { return tm.NewContext() }
	}
	return nil
}

// addOutputs opens every output the config asks for, in the order frames
// are written to them.
func (b *built) addOutputs(ctx context.Context, quit func()) error {
	cfg := b.cfg
	if cfg.Video.Path != "" && sink.IsStillsPath(cfg.Video.Path) {
		st, err := sink.NewStills(cfg.Video.Path)
		if err != nil {
			return err
		}
		b.stills = st
		b.line.AddSink(st)
	} else if cfg.Video.Path != "" {
		o := cfg.Video
		o.SourceFPS, o.Logf = b.sourceFPS, logf
		v, err := sink.NewVideo(o)
		if err != nil {
			return err
		}
		b.video = v
		b.line.AddSink(v)
	}
	if cfg.Run.JSONL != "" {
		j, err := sink.NewJSONL(cfg.Run.JSONL, nil)
		if err != nil {
			return err
		}
		b.events = sink.NewMessages(j, cfg.Run.JSONLFrames)
		b.line.AddSink(b.events)
	}
	if len(cfg.AMQP.URLs) > 0 {
		pub, err := openMQ(ctx, cfg)
		if err != nil {
			return err
		}
		b.mq = pub
		b.line.AddSink(sink.NewMessages(pub, cfg.Run.AMQPFrames))
	}
	if cfg.Depth.Out != "" {
		v, err := sink.NewVideo(sink.VideoOptions{Path: cfg.Depth.Out, SourceFPS: b.sourceFPS, Encode: cfg.Video.Encode, Logf: logf})
		if err != nil {
			return fmt.Errorf("depth-out: %w", err)
		}
		col, err := depth.NewColorizer(cfg.Depth.Range)
		if err != nil {
			_ = v.Close()
			return err
		}
		b.depthVideo = v
		b.line.AddSink(sink.NewDepthVideo(col, v))
	}
	if cfg.Run.Window {
		w, err := sink.NewWindow("conveyor", cfg.Run.Tile, quit)
		if err != nil {
			return err
		}
		b.line.AddSink(w)
	}
	return nil
}

// sourceLink is the link every source gets.
func (b *built) sourceLink() pipeline.LinkOptions { return b.cfg.Link }

// addSources opens every --source, in order.
func (b *built) addSources(context.Context) error {
	b.cfg.Sources.Logf = logf
	for i, uri := range b.cfg.Run.Sources {
		if err := b.claimInput(uri, fmt.Sprintf("source %d", i), false); err != nil {
			return err
		}
		src, err := camera.Open(uri, b.cfg.Sources)
		if err != nil {
			return err
		}
		b.sources = append(b.sources, src)
		b.line.AddSource(src, b.sourceLink())
	}
	return nil
}

// addDetection adds preprocess, inference (N workers, or batches) and
// decode. With TensorRT and the CUDA kernels, preprocessing happens on the
// GPU inside the inference stage: a frame crosses the bus once.
func (b *built) addDetection(context.Context) error {
	link := pipeline.LinkOptions{Queue: b.cfg.Link.Queue}
	gpu := b.backend == infer.TensorRTBackend && trt.FramesBuilt
	if !gpu {
		pre, err := b.model.NewPreprocess()
		if err != nil {
			return err
		}
		b.line.AddStage("preprocess", link, pre)
	}
	var w, h int
	if len(b.sources) > 0 {
		w, h = b.sources[0].Info().Width, b.sources[0].Info().Height
	}
	t, err := machineDefaults(b.cfg.Detect, b.model, b.backend, w, h)
	if err != nil {
		return err
	}
	b.tuning = t
	workers := t.Workers
	single := make([]pipeline.Processor, 0, workers)
	batch := make([]pipeline.BatchProcessor, 0, workers)
	closeAll := func() {
		for _, w := range single {
			_ = w.Close()
		}
	}
	for range workers {
		e, err := b.newEngine()
		if err != nil {
			closeAll()
			return err
		}
		// Each worker takes over its engine: closing the worker closes it.
		if gpu {
			fe, _ := e.(infer.FrameEngine)
			g, err := infer.NewGPUInfer(b.model.Spec, b.model.Input, fe)
			if err != nil {
				_ = e.Close()
				closeAll()
				return err
			}
			single, batch = append(single, g), append(batch, g)
			continue
		}
		single, batch = append(single, infer.NewInfer(e)), append(batch, infer.NewBatchInfer(e))
	}
	if n := b.cfg.Detect.Batch; n > 1 {
		b.line.AddBatchStage("infer", pipeline.BatchOptions{LinkOptions: link, Max: n, Timeout: b.cfg.Detect.BatchTimeout}, batch...)
	} else {
		b.line.AddStage("infer", link, single...)
	}
	dec, err := b.model.NewDecode()
	if err != nil {
		return err
	}
	b.line.AddStage("decode", link, dec)
	return b.addRefine(link, workers)
}

// addRefine adds the small-face pass (--min-face) after decode, with as
// many workers as inference has: on a frame that needs a second pass it
// costs as much as inference. Its engines are inference's (OpenCV DNN, or
// TensorRT contexts whose profile covers its tiles and canvases).
func (b *built) addRefine(link pipeline.LinkOptions, workers int) error {
	if b.model.MinFace <= 0 {
		return nil
	}
	procs, err := pipeline.NewWorkers(workers, func() (pipeline.Processor, error) {
		r, err := b.model.NewRefineWith(b.newEngine)
		if err != nil {
			return nil, err
		}
		b.refine = append(b.refine, r)
		return r, nil
	})
	if err != nil {
		return err
	}
	b.line.AddStage("refine", link, procs...)
	return nil
}

// addPost adds what follows detection: depth, tracking, blur, OSD.
func (b *built) addPost(context.Context) error {
	cfg := b.cfg
	link := pipeline.LinkOptions{Queue: cfg.Link.Queue}
	if cfg.Depth.MaxDistance > 0 || hasDepth(cfg.Run.Sources) || cfg.Run.API {
		dp, err := depth.New(cfg.Depth)
		if err != nil {
			return err
		}
		b.line.AddStage("depth", link, dp)
	}
	if cfg.Run.Track {
		tr, err := track.New(cfg.Track)
		if err != nil {
			return err
		}
		b.line.AddStage("track", link, tr) // one worker: tracks are per source, in order
	}
	if cfg.Blur.Mode != post.NoBlur {
		blur, err := post.NewBlur(cfg.Blur)
		if err != nil {
			return err
		}
		b.line.AddStage("blur", link, blur)
	}
	if cfg.Run.OSD {
		b.line.AddStage("osd", link, post.NewOSD(post.OSDOptions{Boxes: true, Labels: true, Landmarks: true, FPS: true}))
	}
	return nil
}

// addWeb starts the web server (--http): the live view, /metrics,
// /healthz and, with --api, the source API.
func (b *built) addWeb(context.Context) error {
	if b.cfg.Web.Addr == "" {
		return nil
	}
	var collectors []prometheus.Collector
	if m := matsCollector(); m != nil {
		collectors = append(collectors, m)
	}
	if b.mq != nil {
		collectors = append(collectors, mqCollector(b.mq))
	}
	o := b.cfg.Web
	o.Title, o.Collectors = "conveyor", collectors
	if t := os.Getenv(web.EnvToken); t != "" {
		o.Token = t // wins over --http-token-file
	}
	if b.mq != nil {
		pub := b.mq
		o.Checks = append(o.Checks, web.Check{Name: "rabbitmq", Func: func() error {
			if !pub.Stats().Connected {
				return errors.New("not connected to the broker")
			}
			return nil
		}})
	}
	if b.cfg.Run.API {
		o.OpenSource = func(_ context.Context, uri string) (pipeline.Source, pipeline.LinkOptions, error) {
			if err := b.claimInput(uri, "a source added through the API", true); err != nil {
				return nil, pipeline.LinkOptions{}, err
			}
			src, err := camera.Open(uri, b.cfg.Sources)
			return src, b.sourceLink(), err
		}
	}
	srv, err := web.New(b.line, o)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	b.web = srv
	b.after = append(b.after, srv)
	b.line.AddSink(srv.Sink())
	return nil
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

// openMQ connects to a node of the RabbitMQ cluster (retrying for
// --amqp-start-timeout). A lost connection and its return are logged.
func openMQ(ctx context.Context, cfg Config) (*mq.Publisher, error) {
	c := cfg.AMQP
	urls, err := amqpURLs(c.URLs)
	if err != nil {
		return nil, err
	}
	for _, u := range urls {
		if err := checkBrokerURL(u); err != nil {
			return nil, err
		}
	}
	c.URLs, c.Declare = urls, true
	c.Logf = func(format string, args ...any) {
		log.Printf("conveyor: rabbitmq: "+strings.TrimPrefix(format, "mq: "), args...)
	}
	return mq.NewPublisher(ctx, c)
}

// checkBrokerURL refuses a broker URL Go's URL parser rejects before the
// RabbitMQ client sees it: the parser's reason quotes part of the URL
// (`invalid port ":Secr" after host` for the password Secr#t99), which
// no redaction can tell from the rest. The answer says how to write it.
func checkBrokerURL(raw string) error {
	if _, err := neturl.Parse(raw); err != nil {
		return fmt.Errorf("amqp: the broker URL %s does not parse: percent-encode special characters in the user name and password (# is %%23, / is %%2F, %% is %%25, @ is %%40): %w",
			meta.RedactURI(raw), mq.ErrBadURL)
	}
	return nil
}

// warnings gathers what the sources report without failing, their
// secrets hidden.
func (b *built) warnings() []string {
	var out []string
	for _, s := range b.sources {
		if w, ok := s.(pipeline.Warner); ok {
			for _, warn := range w.Warnings() {
				out = append(out, meta.RedactURI(warn))
			}
		}
	}
	return out
}

// trt.Context implements infer.Engine without importing it (trt stays free
// of OpenCV); this is where the two meet, so the check is here.
var _ infer.Engine = (*trt.Context)(nil)
