package trt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt/cuda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDecodeVersion(t *testing.T) {
	tests := []struct {
		in   int32
		want string
		ok   bool
	}{
		{8502, "8.5.2", true}, {8503, "8.5.3", true}, {8602, "8.6.2", true},
		{100300, "10.3.0", true}, {101600, "10.16.0", true}, {110100, "11.1.0", true},
		{0, "", false}, {-1, "", false},
	}
	for _, tt := range tests {
		v, err := DecodeVersion(tt.in)
		if !tt.ok {
			assert.Error(t, err, "%d", tt.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, v.String(), "%d", tt.in)
	}
	assert.Equal(t, "10.3.0.26", Version{10, 3, 0, 26}.String(), "the build number when known")
}

func TestVersionCheck(t *testing.T) {
	supported := []struct {
		v  Version
		ok bool
	}{
		{Version{8, 4, 1, 0}, false}, {Version{8, 5, 2, 0}, true}, {Version{8, 6, 2, 0}, true},
		{Version{9, 3, 0, 0}, false}, {Version{10, 3, 0, 26}, true}, {Version{10, 16, 0, 72}, true},
		{Version{11, 1, 0, 106}, true}, {Version{12, 0, 0, 0}, false}, {Version{7, 1, 3, 0}, false},
	}
	for _, tt := range supported {
		err := tt.v.Supported()
		assert.Equal(t, tt.ok, err == nil, "%s: %v", tt.v, err)
	}
	assert.ErrorContains(t, Version{12, 0, 0, 0}.Supported(), "newer than this conveyor knows")

	// Headers against the library loaded at run time.
	checks := []struct {
		headers, lib Version
		errHas       string
	}{
		{Version{10, 3, 0, 26}, Version{10, 3, 0, 26}, ""},
		{Version{10, 3, 0, 26}, Version{10, 16, 0, 72}, ""}, // a newer library of the same major
		{Version{8, 5, 3, 1}, Version{8, 5, 2, 0}, ""},      // JetPack 5.1's 8.5.2 under 8.5.3 headers: same minor
		{Version{8, 5, 3, 1}, Version{8, 6, 2, 0}, ""},      // JetPack 6.0's 8.6
		{Version{10, 16, 0, 72}, Version{10, 3, 0, 26}, "older than the TensorRT 10.16.0.72 headers"},
		{Version{8, 6, 1, 5}, Version{8, 5, 2, 0}, "older than"},
		{Version{10, 3, 0, 26}, Version{11, 1, 0, 106}, "built against TensorRT 10.3.0.26 but libnvinfer 11.1.0.106"},
	}
	for _, tt := range checks {
		err := CheckLibrary(tt.headers, tt.lib)
		if tt.errHas == "" {
			assert.NoError(t, err, "%s headers, %s library", tt.headers, tt.lib)
			continue
		}
		assert.ErrorContains(t, err, tt.errHas, "%s headers, %s library", tt.headers, tt.lib)
		assert.ErrorContains(t, err, "make trt")
	}
}

func TestPrecisionPerTensorRT(t *testing.T) {
	v8, v10, v11 := Version{8, 5, 2, 0}, Version{10, 3, 0, 26}, Version{11, 1, 0, 106}
	tests := []struct {
		p      Precision
		v      Version
		want   Precision
		errHas string
	}{
		{Auto, v8, FP16, ""}, {Auto, v10, FP16, ""}, {Auto, v11, Model, ""},
		{"", v10, FP32, ""}, {"", v11, Model, ""},
		{FP32, v8, FP32, ""}, {FP32, v11, Model, ""},
		{FP16, v10, FP16, ""}, {FP16, v11, "", "removed the fp16 and int8 builder flags"},
		{INT8, v8, INT8, ""}, {INT8, v11, "", "Q/DQ"},
		{Model, v10, Model, ""}, {Model, v11, Model, ""}, {Model, v8, "", "needs TensorRT 10"},
	}
	for _, tt := range tests {
		got, err := tt.p.Resolve(tt.v)
		if tt.errHas != "" {
			assert.ErrorContains(t, err, tt.errHas, "%s on %s", tt.p, tt.v)
			continue
		}
		require.NoError(t, err, "%s on %s", tt.p, tt.v)
		assert.Equal(t, tt.want, got, "%s on %s", tt.p, tt.v)
	}
	for _, s := range []string{"auto", "FP16", " model ", "int8", "fp32", ""} {
		var p Precision
		require.NoError(t, p.UnmarshalText([]byte(s)), s)
		b, err := p.MarshalText()
		require.NoError(t, err)
		var back Precision
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, p, back, s)
	}
	var p Precision
	assert.ErrorContains(t, p.UnmarshalText([]byte("fp8")), "precision: must be auto, fp32, fp16, int8 or model")
	assert.Equal(t, Auto, DefaultOptions().Precision, "conveyor run's default adapts to the TensorRT version")
}

func TestBatchProfile(t *testing.T) {
	assert.Equal(t, BatchRange{1, 1, 1}, BatchProfile(1))
	assert.Equal(t, BatchRange{1, 1, 1}, BatchProfile(0))
	assert.Equal(t, BatchRange{1, 4, 4}, BatchProfile(4), "groups of 1 to --batch frames, tuned for full ones")
	var b BatchRange
	require.NoError(t, b.UnmarshalText([]byte("1:4:8")))
	assert.Equal(t, BatchRange{1, 4, 8}, b)
	txt, err := b.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "1:4:8", string(txt))
	assert.Error(t, b.UnmarshalText([]byte("8:1")))

	// --batch 4 of conveyor run on the bundled models: dynamic batch gets
	// 1:4:4; a fixed batch of 1 is kept (frames run one by one).
	dyn := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{-1, 3, 640, 640}}
	got, err := ResolveProfiles([]TensorDesc{dyn}, BatchProfile(4), nil, true)
	require.NoError(t, err)
	assert.Equal(t, []Profile{{"input", []int64{1, 3, 640, 640}, []int64{4, 3, 640, 640}, []int64{4, 3, 640, 640}}}, got)
	fixed := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{1, 3, 120, 160}}
	got, err = ResolveProfiles([]TensorDesc{fixed}, BatchProfile(4), nil, true)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = ResolveProfiles([]TensorDesc{fixed}, BatchProfile(4), nil, false)
	assert.ErrorContains(t, err, "fixed batch of 1", "conveyor engine build --batch insists")
}

func TestShapeList(t *testing.T) {
	var l ShapeList
	require.NoError(t, l.UnmarshalText([]byte("input=1x3x320x320:4x3x640x640:8x3x640x640, other=1x1x8x8")))
	require.Len(t, l, 2)
	assert.Equal(t, "input", l[0].Name)
	assert.Equal(t, []int64{8, 3, 640, 640}, l[0].Max)
	assert.Equal(t, "input=1x3x320x320:4x3x640x640:8x3x640x640,other=1x1x8x8:1x1x8x8:1x1x8x8", l.String())
	var back ShapeList
	require.NoError(t, back.UnmarshalText([]byte(l.String())))
	assert.Equal(t, l, back)
	require.NoError(t, back.UnmarshalText(nil))
	assert.Empty(t, back)
	assert.ErrorContains(t, l.UnmarshalText([]byte("a=1x1,a=1x1")), "shape: input \"a\" given twice")
	assert.ErrorContains(t, l.UnmarshalText([]byte("a=2x1:1x1:2x1")), "shape: ")
}

func TestParseBatch(t *testing.T) {
	tests := []struct {
		in   string
		want BatchRange
		ok   bool
	}{
		{"1:4:8", BatchRange{1, 4, 8}, true},
		{" 2 : 2 : 2 ", BatchRange{2, 2, 2}, true},
		{"4", BatchRange{4, 4, 4}, true},
		{"8:4:1", BatchRange{}, false},
		{"0:1:2", BatchRange{}, false},
		{"1:4", BatchRange{}, false},
		{"a:b:c", BatchRange{}, false},
		{"", BatchRange{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, err := ParseBatch(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b)
		})
	}
}

func TestParseShape(t *testing.T) {
	s, err := ParseShape("input=1x3x320x320:4x3x640x640:8x3x640x640")
	require.NoError(t, err)
	assert.Equal(t, ShapeRange{"input", []int64{1, 3, 320, 320}, []int64{4, 3, 640, 640}, []int64{8, 3, 640, 640}}, s)
	assert.Equal(t, "input=1x3x320x320:4x3x640x640:8x3x640x640", s.String())
	f, err := ParseShape("x=1x3x4x4")
	require.NoError(t, err)
	assert.Equal(t, f.Min, f.Max)
	for _, bad := range []string{"input", "=1x3", "input=1x3:1x3", "input=1x3x4:1x3:1x3x4", "input=2x3:1x3:2x3", "input=1xAx3", "input=0x3", "i=1x1x1x1x1x1x1x1x1"} {
		_, err := ParseShape(bad)
		assert.Error(t, err, bad)
	}
}

func TestResolveProfiles(t *testing.T) {
	dyn := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{-1, 3, -1, -1}}
	batchOnly := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{-1, 3, 640, 640}}
	fixed := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{1, 3, 640, 640}}
	out := TensorDesc{Name: "scores", Shape: []int64{-1, 100}}
	shape, _ := ParseShape("input=1x3x320x320:4x3x640x640:8x3x640x640")
	tests := []struct {
		name   string
		inputs []TensorDesc
		batch  BatchRange
		shapes []ShapeRange
		want   []Profile
		errHas string
	}{
		{"static model needs none", []TensorDesc{fixed, out}, BatchRange{}, nil, nil, ""},
		{"dynamic batch defaults to 1", []TensorDesc{batchOnly}, BatchRange{}, nil,
			[]Profile{{"input", []int64{1, 3, 640, 640}, []int64{1, 3, 640, 640}, []int64{1, 3, 640, 640}}}, ""},
		{"dynamic batch from --batch", []TensorDesc{batchOnly, out}, BatchRange{1, 4, 8}, nil,
			[]Profile{{"input", []int64{1, 3, 640, 640}, []int64{4, 3, 640, 640}, []int64{8, 3, 640, 640}}}, ""},
		{"dynamic H and W need --shape", []TensorDesc{dyn}, BatchRange{1, 4, 8}, nil, nil, "--shape input="},
		{"dynamic H and W from --shape", []TensorDesc{dyn}, BatchRange{}, []ShapeRange{shape}, []Profile{shape}, ""},
		{"--shape against a fixed dimension", []TensorDesc{batchOnly}, BatchRange{}, []ShapeRange{shape}, nil, "is fixed at 640"},
		{"--shape of an unknown input", []TensorDesc{fixed}, BatchRange{}, []ShapeRange{{"data", []int64{1}, []int64{1}, []int64{1}}}, nil, "not an input"},
		{"--batch on a fixed-batch model", []TensorDesc{fixed}, BatchRange{1, 4, 8}, nil, nil, "fixed batch of 1"},
		{"--shape of the wrong rank", []TensorDesc{dyn}, BatchRange{}, []ShapeRange{{"input", []int64{1, 3}, []int64{1, 3}, []int64{1, 3}}}, nil, "rank 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveProfiles(tt.inputs, tt.batch, tt.shapes, false)
			if tt.errHas != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func yunet(t *testing.T) string {
	p, err := models.Asset("models/yunet/yunet_s_dynamic.onnx")
	require.NoError(t, err)
	return p
}

func TestBuildOptionsValidate(t *testing.T) {
	onnx := yunet(t)
	dir := t.TempDir()
	calib := filepath.Join(dir, "calib.cache")
	require.NoError(t, os.WriteFile(calib, []byte("TRT-8502-EntropyCalibration2\n"), 0o644))
	empty := filepath.Join(dir, "empty.onnx")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	tests := []struct {
		name   string
		o      BuildOptions
		errHas string
	}{
		{"fp16", BuildOptions{ONNX: onnx, Precision: FP16, Batch: BatchRange{1, 4, 8}}, ""},
		{"int8 with cache", BuildOptions{ONNX: onnx, Precision: INT8, CalibrationCache: calib}, ""},
		{"no model", BuildOptions{}, "no ONNX model"},
		{"missing model", BuildOptions{ONNX: filepath.Join(dir, "nope.onnx")}, "no such file"},
		{"model is a folder", BuildOptions{ONNX: dir}, "not a regular file"},
		{"empty model", BuildOptions{ONNX: empty}, "is empty"},
		{"bad precision", BuildOptions{ONNX: onnx, Precision: "fp8"}, "precision: must be auto, fp32, fp16, int8 or model"},
		{"int8 without cache", BuildOptions{ONNX: onnx, Precision: INT8}, "calib-cache: precision int8 needs a calibration cache"},
		{"cache without int8", BuildOptions{ONNX: onnx, CalibrationCache: calib}, "calib-cache: a calibration cache is only used with precision int8"},
		{"tiny workspace", BuildOptions{ONNX: onnx, Workspace: 1000}, "too small"},
		{"negative workspace", BuildOptions{ONNX: onnx, Workspace: -1}, "positive"},
		{"bad batch", BuildOptions{ONNX: onnx, Batch: BatchRange{4, 2, 8}}, "min <= opt <= max"},
		{"shape twice", BuildOptions{ONNX: onnx, Shapes: ShapeList{{"a", []int64{1}, []int64{1}, []int64{1}}, {"a", []int64{1}, []int64{1}, []int64{1}}}}, "shape: input \"a\" given twice"},
		{"negative device", BuildOptions{ONNX: onnx, Device: -1}, "device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if tt.errHas == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errHas)
		})
	}
	p, err := ParsePrecision("FP16")
	require.NoError(t, err)
	assert.Equal(t, FP16, p)

	// Options.Validate checks what a user sets, before the model is known,
	// and names the option by its key.
	opts := []struct {
		name   string
		o      func(*Options)
		errHas string
	}{
		{"defaults", func(*Options) {}, ""},
		{"missing plan", func(o *Options) { o.Plan = filepath.Join(dir, "missing.engine") }, "engine: "},
		{"empty plan", func(o *Options) { o.Plan = empty }, "engine: "},
		{"int8 without cache", func(o *Options) { o.Precision = INT8 }, "calib-cache: "},
		{"int8 with cache", func(o *Options) { o.Precision = INT8; o.CalibrationCache = calib }, ""},
		{"bad shape", func(o *Options) { o.Shapes = ShapeList{{"x", []int64{2}, []int64{1}, []int64{2}}} }, "shape: "},
		{"bad precision", func(o *Options) { o.Precision = "half" }, "precision: "},
	}
	for _, tt := range opts {
		o := DefaultOptions()
		tt.o(&o)
		err := o.Validate()
		if tt.errHas == "" {
			assert.NoError(t, err, tt.name)
			continue
		}
		assert.ErrorContains(t, err, tt.errHas, tt.name)
	}
	o := DefaultOptions()
	assert.ErrorContains(t, o.check(), "no ONNX model", "Load needs a model or a plan")
}

func TestCacheKeyAndLookup(t *testing.T) {
	onnx := yunet(t)
	orin := Platform{TensorRT: Version{8, 5, 2, 0}, GPU: "Orin", ComputeCapability: "8.7", SMs: 8, MemoryGiB: 8}
	h100 := Platform{TensorRT: Version{10, 3, 0, 26}, GPU: "NVIDIA H100 80GB HBM3", ComputeCapability: "9.0", SMs: 132, MemoryGiB: 80}
	o := BuildOptions{ONNX: onnx, Precision: FP16, Batch: BatchRange{1, 4, 8}}
	k1, err := NewCacheKey(&o, orin)
	require.NoError(t, err)
	assert.Equal(t, "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3", k1.ONNX, "sha256 of the ONNX file (DATA.md)")
	assert.Equal(t, DefaultWorkspace, k1.Workspace)
	k1b, err := NewCacheKey(&o, orin)
	require.NoError(t, err)
	assert.Equal(t, k1.Digest(), k1b.Digest(), "the key is deterministic")

	variants := map[string]func() (CacheKey, error){
		"other TensorRT": func() (CacheKey, error) {
			p := orin
			p.TensorRT.Patch = 3
			return NewCacheKey(&o, p)
		},
		"other GPU": func() (CacheKey, error) { return NewCacheKey(&o, h100) },
		"other Orin module": func() (CacheKey, error) {
			p := orin // AGX Orin 64 GB: also "Orin", sm 8.7
			p.SMs, p.MemoryGiB = 16, 64
			return NewCacheKey(&o, p)
		},
		"other Orin memory": func() (CacheKey, error) {
			p := orin // Orin NX 16 GB: 8 SMs like the 8 GB one
			p.MemoryGiB = 16
			return NewCacheKey(&o, p)
		},
		"other TensorRT build": func() (CacheKey, error) {
			p := h100
			p.TensorRT.Build = 27
			k, err := NewCacheKey(&o, h100)
			require.NoError(t, err)
			k2, err := NewCacheKey(&o, p)
			assert.NotEqual(t, k.Digest(), k2.Digest(), "10.3.0.26 vs 10.3.0.27")
			return k2, err
		},
		"other precision": func() (CacheKey, error) { o2 := o; o2.Precision = FP32; return NewCacheKey(&o2, orin) },
		"other batch":     func() (CacheKey, error) { o2 := o; o2.Batch = BatchRange{1, 2, 4}; return NewCacheKey(&o2, orin) },
		"other workspace": func() (CacheKey, error) { o2 := o; o2.Workspace = 1 << 28; return NewCacheKey(&o2, orin) },
		"other shapes": func() (CacheKey, error) {
			o2 := o
			o2.Shapes = []ShapeRange{{"input", []int64{1, 3, 320, 320}, []int64{1, 3, 320, 320}, []int64{1, 3, 320, 320}}}
			return NewCacheKey(&o2, orin)
		},
	}
	for name, mk := range variants {
		k2, err := mk()
		require.NoError(t, err)
		assert.NotEqual(t, k1.Digest(), k2.Digest(), name)
		assert.NotEmpty(t, k2.Mismatch(k1), name)
	}

	cache, err := OpenCache(filepath.Join(t.TempDir(), "engines"))
	require.NoError(t, err)
	path, stale, err := cache.Lookup(onnx, k1)
	require.NoError(t, err)
	assert.Empty(t, path)
	assert.Empty(t, stale, "an empty cache has nothing stale")

	require.NoError(t, WritePlan(cache.PlanPath(onnx, k1), []byte("plan for orin"), k1))
	path, _, err = cache.Lookup(onnx, k1)
	require.NoError(t, err)
	assert.Equal(t, cache.PlanPath(onnx, k1), path)
	assert.Contains(t, filepath.Base(path), "yunet_s_dynamic-")

	// The same model on another TensorRT and GPU: a miss that says why.
	k3, err := NewCacheKey(&o, h100)
	require.NoError(t, err)
	path, stale, err = cache.Lookup(onnx, k3)
	require.NoError(t, err)
	assert.Empty(t, path)
	assert.Contains(t, stale, "TensorRT 8.5.2")
	assert.Contains(t, stale, "GPU Orin (sm 8.7, 8 SMs, 8 GiB)")

	// A plan whose key file was damaged is a miss, not an error.
	require.NoError(t, os.WriteFile(cache.PlanPath(onnx, k1)+".json", []byte("{"), 0o644))
	path, _, err = cache.Lookup(onnx, k1)
	require.NoError(t, err)
	assert.Empty(t, path)
	_, err = ReadKey(cache.PlanPath(onnx, k1))
	assert.Error(t, err)

	assert.Contains(t, cache.TimingCachePath(h100), "timing-trt10.3.0.26-NVIDIA_H100_80GB_HBM3-sm9.0-132sm-80gib")

	// Precision is resolved into the key: auto is fp16 on 8 and 10, the
	// model's types on 11, and fp16 on 11 fails before any parsing.
	auto := o
	auto.Precision = Auto
	ka, err := NewCacheKey(&auto, orin)
	require.NoError(t, err)
	assert.Equal(t, FP16, ka.Precision)
	assert.Equal(t, k1.Digest(), ka.Digest(), "auto on 8.5 is the fp16 engine")
	trt11 := h100
	trt11.TensorRT = Version{11, 1, 0, 106}
	k11, err := NewCacheKey(&auto, trt11)
	require.NoError(t, err)
	assert.Equal(t, Model, k11.Precision)
	_, err = NewCacheKey(&o, trt11)
	assert.ErrorContains(t, err, "TensorRT 11.1.0.106 removed the fp16")
	assert.Error(t, WritePlan(filepath.Join(t.TempDir(), "x.engine"), nil, k1), "an empty plan is refused")
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	d, err := DefaultCacheDir()
	require.NoError(t, err)
	assert.Equal(t, "/tmp/xdg/conveyor/engines", d)
}

func TestPlanIOAndInputChecks(t *testing.T) {
	in := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{-1, 3, 640, 640}}
	prof := &Profile{"input", []int64{1, 3, 640, 640}, []int64{4, 3, 640, 640}, []int64{8, 3, 640, 640}}
	outs := []TensorDesc{{Name: "cls_8", DType: Float32, Shape: []int64{-1, 6400, 1}}, {Name: "bbox_8", DType: Float16, Shape: []int64{-1, 6400, 4}}}
	p, err := planIO(append([]TensorDesc{in}, outs...), prof)
	require.NoError(t, err)
	assert.Equal(t, []int64{8, 3, 640, 640}, p.maxInput)
	assert.Equal(t, []string{"cls_8", "bbox_8"}, []string{p.outputs[0].Name, p.outputs[1].Name}, "outputs keep engine order")
	n, err := bufferBytes(p.maxInput, Float32)
	require.NoError(t, err)
	assert.Equal(t, int64(8*3*640*640*4), n)

	_, err = planIO([]TensorDesc{in, {Name: "ids", DType: Int64, Shape: []int64{1}}}, prof)
	assert.ErrorContains(t, err, `output "ids" has type int64`)
	_, err = planIO([]TensorDesc{in, in, outs[0]}, prof)
	assert.ErrorContains(t, err, "2 inputs")
	_, err = planIO([]TensorDesc{in}, prof)
	assert.ErrorContains(t, err, "no outputs")
	_, err = planIO([]TensorDesc{in, outs[0]}, nil)
	assert.ErrorContains(t, err, "no matching optimization profile")

	tensor := func(shape ...int) meta.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return meta.Tensor{Name: "input", Shape: shape, Data: make([]float32, n)}
	}
	dims, err := checkInput(in, prof, tensor(4, 3, 640, 640))
	require.NoError(t, err)
	assert.Equal(t, []int64{4, 3, 640, 640}, dims)
	_, err = checkInput(in, prof, tensor(9, 3, 640, 640))
	assert.True(t, errors.Is(err, ErrBatchTooLarge), "batch 9 > 8: %v", err)
	assert.ErrorContains(t, err, "batch 9 is outside 1..8")
	_, err = checkInput(in, prof, tensor(1, 3, 320, 320))
	assert.ErrorContains(t, err, "dimension 2 is 320, the engine wants 640")
	_, err = checkInput(in, prof, tensor(1, 3, 640))
	assert.ErrorContains(t, err, "rank 4")
	short := tensor(1, 3, 640, 640)
	short.Data = short.Data[:10]
	_, err = checkInput(in, prof, short)
	assert.ErrorContains(t, err, "needs 1228800 values, got 10")

	_, err = bufferBytes([]int64{-1, 3}, Float32)
	assert.Error(t, err)
	_, err = bufferBytes([]int64{1 << 40, 1 << 40}, Float32)
	assert.ErrorContains(t, err, "too large")
	_, err = bufferBytes([]int64{4}, Int4)
	assert.Error(t, err)
	assert.Equal(t, meta.TensorInfo{Name: "input", Shape: []int{-1, 3, 640, 640}}, in.Info())
}

func TestHalf(t *testing.T) {
	tests := []struct {
		f float32
		h uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {0.5, 0x3800}, {5.9604645e-08, 0x0001}}
	for _, tt := range tests {
		assert.Equal(t, tt.h, cuda.FloatToHalf(tt.f), "%v", tt.f)
		assert.Equal(t, tt.f, cuda.HalfToFloat(tt.h), "%#x", tt.h)
	}
	assert.Equal(t, uint16(0x7c00), cuda.FloatToHalf(1e6), "overflow is +Inf")
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN payloads
		}
		assert.Equal(t, h, cuda.FloatToHalf(cuda.HalfToFloat(h)), "round trip %#x", h)
	}
}

func TestShimErrors(t *testing.T) {
	tests := []struct {
		status int
		is     error
	}{{statusNoGPU, ErrNoGPU}, {statusOOM, ErrOutOfMemory}, {statusPlan, ErrStalePlan}, {statusParse, ErrParse}, {statusShape, ErrBatchTooLarge},
		{statusBroken, ErrBroken}, {statusNoLib, ErrNoLibrary}}
	for _, tt := range tests {
		err := shimError("load x.engine", tt.status, "expecting library version 10.3 got 8.5")
		assert.ErrorIs(t, err, tt.is)
		assert.Equal(t, "trt: load x.engine: expecting library version 10.3 got 8.5", err.Error())
	}
	assert.NoError(t, shimError("x", statusOK, ""))
	assert.EqualError(t, shimError("x", statusErr, ""), "trt: x: unknown error")
}

func TestMemoryGiB(t *testing.T) {
	assert.Equal(t, 8, MemoryGiB(7_990_000_000), "an 8 GB Jetson's GPU sees 7.4 GiB")
	assert.Equal(t, 15, MemoryGiB(16_000_000_000), "16 GB is 14.9 GiB")
	assert.Equal(t, 141, MemoryGiB(150_754_820_096), "H200: 140.4 GiB")
	assert.Equal(t, 1, MemoryGiB(1<<30))
	assert.Equal(t, 0, MemoryGiB(0))
}

func TestTimingCacheFallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "timing.cache")
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }

	b, err := readTimingCache(path)
	require.NoError(t, err, "no cache yet is not an error")
	assert.Nil(t, b)

	// A fresh cache is written.
	updateTimingCache(path, false, []byte("cache v1"), logf)
	b, err = readTimingCache(path)
	require.NoError(t, err)
	assert.Equal(t, "cache v1", string(b))
	assert.Empty(t, logged)

	// TensorRT refused the file (another GPU) and the build made a new
	// one: it replaces the file, with one line saying so.
	updateTimingCache(path, true, []byte("cache v2"), logf)
	b, _ = readTimingCache(path)
	assert.Equal(t, "cache v2", string(b))
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], "made by another TensorRT or GPU")

	// Refused and the build failed: the file goes, so the next build does
	// not trip on it again.
	updateTimingCache(path, true, nil, logf)
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "a refused cache is removed: %v", err)

	// Neither refused nor new (a failed build): the file stays as it was.
	updateTimingCache(path, false, []byte("cache v3"), nil)
	updateTimingCache(path, false, nil, nil)
	b, _ = readTimingCache(path)
	assert.Equal(t, "cache v3", string(b))

	// An unwritable place is logged, not fatal.
	logged = nil
	updateTimingCache(filepath.Join(path, "sub", "x.cache"), false, []byte("x"), logf)
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], "not saved")
	_, err = readTimingCache(dir)
	assert.Error(t, err, "a folder is not a cache")
}

func TestLogLines(t *testing.T) {
	raw := "W Tactic Device request: 538MB Available: 166MB\n" +
		"W Tactic Device request: 538MB Available: 166MB\n" +
		"W Tactic Device request: 538MB Available: 166MB\n" +
		"E [runtime.cpp::deserialize] plan built on another device model\n" +
		"W (12 more TensorRT messages dropped)\n"
	assert.Equal(t, []string{
		"trt: TensorRT warning: Tactic Device request: 538MB Available: 166MB (3 times)",
		"trt: TensorRT error: [runtime.cpp::deserialize] plan built on another device model",
		"trt: TensorRT warning: (12 more TensorRT messages dropped)",
	}, logLines(raw))
	assert.Empty(t, logLines(""))
}
