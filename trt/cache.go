package trt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// cacheSchema changes whenever the key's meaning or the plan's layout does,
// so that old entries stop matching.
// (2: the TensorRT build number, the GPU's SM count and memory.)
const cacheSchema = "conveyor-trt/2"

// Platform is what a plan is tied to besides the model and the build
// options: the TensorRT library actually loaded (its build number too) and
// the GPU. Name and compute capability alone do not tell GPUs apart: every
// Jetson Orin module reports "Orin" and 8.7, from the 4 GB Orin Nano (4
// SMs) to the 64 GB AGX Orin (16 SMs), and a plan tuned on one is slow or
// refused on another; the SM count and memory size separate them.
type Platform struct {
	TensorRT Version `json:"tensorrt"`
	GPU      string  `json:"gpu"`
	// ComputeCapability is "major.minor", e.g. "8.7" for Orin, "9.0" for H100.
	ComputeCapability string `json:"compute_capability"`
	// SMs is the number of streaming multiprocessors.
	SMs int `json:"sms"`
	// MemoryGiB is the device memory in GiB, rounded up (on Jetson, the
	// memory it shares with the CPU, of which the GPU sees a little less).
	MemoryGiB int `json:"memory_gib"`
}

func (p Platform) String() string {
	return fmt.Sprintf("TensorRT %s on %s (sm %s, %d SMs, %d GiB)", p.TensorRT, p.GPU, p.ComputeCapability, p.SMs, p.MemoryGiB)
}

// gpuString names the GPU part of p, for messages and file names.
func (p Platform) gpuString() string {
	return fmt.Sprintf("%s (sm %s, %d SMs, %d GiB)", p.GPU, p.ComputeCapability, p.SMs, p.MemoryGiB)
}

// MemoryGiB rounds a device's memory in bytes up to GiB, as Platform keeps
// it: an 8 GB Jetson whose GPU sees 7.4 GiB is 8.
func MemoryGiB(bytes uint64) int { return int((bytes + 1<<30 - 1) >> 30) }

// CacheKey is everything a serialised engine depends on. Two builds with
// equal keys are interchangeable.
type CacheKey struct {
	Schema   string   `json:"schema"`
	ONNX     string   `json:"onnx_sha256"`
	Platform Platform `json:"platform"`
	// Precision is the resolved one (Precision.Resolve): never auto, and
	// "model" on TensorRT 11.
	Precision Precision `json:"precision"`
	// Calibration is the sha256 of the INT8 calibration cache, if any.
	Calibration string `json:"calibration_sha256,omitempty"`
	Workspace   int64  `json:"workspace"`
	Batch       string `json:"batch"`
	Shapes      string `json:"shapes,omitempty"`
}

// NewCacheKey computes the key for building o's model on platform p, with
// o's precision resolved for p's TensorRT (an error when it cannot build
// it). It hashes the ONNX file (and the calibration cache).
func NewCacheKey(o *BuildOptions, p Platform) (CacheKey, error) {
	prec, err := o.precision().Resolve(p.TensorRT)
	if err != nil {
		return CacheKey{}, err
	}
	sum, err := fileSHA256(o.ONNX)
	if err != nil {
		return CacheKey{}, fmt.Errorf("trt: cache key: %w", err)
	}
	k := CacheKey{
		Schema: cacheSchema, ONNX: sum, Platform: p, Precision: prec,
		Workspace: o.workspace(), Batch: o.Batch.orDefault().String(),
	}
	if o.CalibrationCache != "" {
		if k.Calibration, err = fileSHA256(o.CalibrationCache); err != nil {
			return CacheKey{}, fmt.Errorf("trt: cache key: %w", err)
		}
	}
	shapes := make([]string, len(o.Shapes))
	for i, s := range o.Shapes {
		shapes[i] = s.String()
	}
	sort.Strings(shapes)
	k.Shapes = strings.Join(shapes, ";")
	return k, nil
}

// Digest is the key's sha256 in hex: the JSON encoding of the key, whose
// field order is fixed.
func (k CacheKey) Digest() string {
	b, _ := json.Marshal(k) // a struct of strings and numbers cannot fail
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Mismatch says why a plan with key old cannot serve key k ("" when it can).
func (k CacheKey) Mismatch(old CacheKey) string {
	var why []string
	if old.Schema != k.Schema {
		why = append(why, "cache format "+old.Schema)
	}
	if old.Platform.TensorRT != k.Platform.TensorRT {
		why = append(why, "TensorRT "+old.Platform.TensorRT.String())
	}
	if old.Platform.GPU != k.Platform.GPU || old.Platform.ComputeCapability != k.Platform.ComputeCapability ||
		old.Platform.SMs != k.Platform.SMs || old.Platform.MemoryGiB != k.Platform.MemoryGiB {
		why = append(why, "GPU "+old.Platform.gpuString())
	}
	if old.ONNX != k.ONNX {
		why = append(why, "another ONNX file")
	}
	if old.Precision != k.Precision || old.Calibration != k.Calibration {
		why = append(why, "precision "+string(old.Precision))
	}
	if old.Batch != k.Batch || old.Shapes != k.Shapes {
		why = append(why, "profile "+strings.TrimSuffix(old.Batch+" "+old.Shapes, " "))
	}
	if old.Workspace != k.Workspace {
		why = append(why, fmt.Sprintf("workspace %d", old.Workspace))
	}
	if len(why) == 0 {
		return ""
	}
	return "built for " + strings.Join(why, ", ")
}

// DefaultCacheDir is $XDG_CACHE_HOME/conveyor/engines (~/.cache/conveyor/engines
// when XDG_CACHE_HOME is unset).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("trt: engine cache: %w", err)
	}
	return filepath.Join(d, "conveyor", "engines"), nil
}

// Cache is a folder of plans, each next to a JSON file holding its key.
type Cache struct {
	Dir string
}

// OpenCache returns the cache in dir (DefaultCacheDir when empty) and
// creates the folder.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trt: engine cache: %w", err)
	}
	return &Cache{Dir: dir}, nil
}

// PlanPath is where the plan for key k of model onnx lives:
// <dir>/<model name>-<first 16 hex digits of the digest>.engine.
func (c *Cache) PlanPath(onnx string, k CacheKey) string {
	base := strings.TrimSuffix(filepath.Base(onnx), filepath.Ext(onnx))
	return filepath.Join(c.Dir, sanitize(base)+"-"+k.Digest()[:16]+".engine")
}

// TimingCachePath is the default timing cache for a platform: one per
// TensorRT version and GPU, shared by all models.
func (c *Cache) TimingCachePath(p Platform) string {
	return filepath.Join(c.Dir, sanitize(fmt.Sprintf("timing-trt%s-%s-sm%s-%dsm-%dgib", p.TensorRT, p.GPU, p.ComputeCapability, p.SMs, p.MemoryGiB))+".cache")
}

// Lookup returns the plan path for k when the cache holds it. Otherwise it
// returns "" and, when a plan of the same model was built for something
// else (another TensorRT or GPU), why it does not fit.
func (c *Cache) Lookup(onnx string, k CacheKey) (path, stale string, err error) {
	p := c.PlanPath(onnx, k)
	if old, err := ReadKey(p); err == nil && old == k {
		if _, err := os.Stat(p); err == nil {
			return p, "", nil
		}
	}
	metas, err := filepath.Glob(filepath.Join(c.Dir, "*.engine.json"))
	if err != nil {
		return "", "", fmt.Errorf("trt: engine cache: %w", err)
	}
	sort.Strings(metas)
	for _, m := range metas {
		old, err := ReadKey(strings.TrimSuffix(m, ".json"))
		if err != nil || old.ONNX != k.ONNX {
			continue
		}
		if why := k.Mismatch(old); why != "" && stale == "" {
			stale = why
		}
	}
	return "", stale, nil
}

// ReadKey reads the key stored next to a plan (plan + ".json").
func ReadKey(plan string) (CacheKey, error) {
	b, err := os.ReadFile(plan + ".json")
	if err != nil {
		return CacheKey{}, err
	}
	var k CacheKey
	if err := json.Unmarshal(b, &k); err != nil {
		return CacheKey{}, fmt.Errorf("trt: %s.json: %w", plan, err)
	}
	return k, nil
}

// WritePlan writes a plan and its key atomically (temporary file, then
// rename), so that a crash never leaves a half-written plan under its
// final name.
func WritePlan(path string, plan []byte, k CacheKey) error {
	meta, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("trt: write plan: %w", err)
	}
	if err := writeAtomic(path, plan); err != nil {
		return err
	}
	return writeAtomic(path+".json", append(meta, '\n'))
}

func writeAtomic(path string, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("trt: write %s: nothing to write", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("trt: write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("trt: write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("trt: write %s: %w", path, err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "model"
	}
	return b.String()
}

// errNotExist reports a missing file, for callers that treat it as a miss.
func errNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
