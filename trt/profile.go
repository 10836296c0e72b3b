package trt

import (
	"fmt"
	"strconv"
	"strings"
)

// BatchRange is the optimization profile of a dynamic batch dimension.
type BatchRange struct {
	Min, Opt, Max int
}

// BatchProfile is the batch range of an engine that conveyor run feeds
// with groups of up to batch frames (its --batch): from 1 (a group cut short
// by the batch timeout, the last frames of a file) to batch, tuned for full
// groups.
func BatchProfile(batch int) BatchRange {
	if batch < 1 {
		batch = 1
	}
	return BatchRange{Min: 1, Opt: batch, Max: batch}
}

// IsZero reports whether no range was given.
func (b BatchRange) IsZero() bool { return b == BatchRange{} }

// String returns "min:opt:max".
func (b BatchRange) String() string { return fmt.Sprintf("%d:%d:%d", b.Min, b.Opt, b.Max) }

// MarshalText writes "min:opt:max".
func (b BatchRange) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText reads what ParseBatch reads.
func (b *BatchRange) UnmarshalText(text []byte) error {
	v, err := ParseBatch(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func (b BatchRange) orDefault() BatchRange {
	if b.IsZero() {
		return BatchRange{1, 1, 1}
	}
	return b
}

func (b BatchRange) validate() error {
	if b.Min < 1 || b.Opt < b.Min || b.Max < b.Opt {
		return fmt.Errorf("trt: batch profile %s: need 1 <= min <= opt <= max", b)
	}
	return nil
}

// ParseBatch reads a batch profile: "min:opt:max" ("1:4:8") or one number
// ("4" means 4:4:4).
func ParseBatch(s string) (BatchRange, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	var n []int
	for _, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return BatchRange{}, fmt.Errorf("trt: batch profile %q: want min:opt:max, e.g. 1:4:8", s)
		}
		n = append(n, v)
	}
	var b BatchRange
	switch len(n) {
	case 1:
		b = BatchRange{n[0], n[0], n[0]}
	case 3:
		b = BatchRange{n[0], n[1], n[2]}
	default:
		return BatchRange{}, fmt.Errorf("trt: batch profile %q: want min:opt:max, e.g. 1:4:8", s)
	}
	return b, b.validate()
}

// ShapeRange is the optimization profile of one input: its full shapes at
// the profile's minimum, optimum and maximum.
type ShapeRange struct {
	Name          string
	Min, Opt, Max []int64
}

// String returns the form ParseShape reads.
func (s ShapeRange) String() string {
	return s.Name + "=" + dimsString(s.Min) + ":" + dimsString(s.Opt) + ":" + dimsString(s.Max)
}

func dimsString(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, "x")
}

func (s ShapeRange) validate() error {
	if s.Name == "" {
		return fmt.Errorf("trt: shape profile %s: no input name", s)
	}
	if len(s.Min) == 0 || len(s.Min) != len(s.Opt) || len(s.Opt) != len(s.Max) {
		return fmt.Errorf("trt: shape profile %s: min, opt and max need the same rank", s)
	}
	if len(s.Min) > maxDims {
		return fmt.Errorf("trt: shape profile %s: more than %d dimensions", s, maxDims)
	}
	for i := range s.Min {
		if s.Min[i] < 1 || s.Opt[i] < s.Min[i] || s.Max[i] < s.Opt[i] {
			return fmt.Errorf("trt: shape profile %s: dimension %d needs 1 <= min <= opt <= max", s, i)
		}
	}
	return nil
}

// ParseShape reads one input's profile, as --shape takes it:
// "name=1x3x320x320:4x3x640x640:8x3x640x640" (min:opt:max) or
// "name=1x3x640x640" (a fixed shape).
func ParseShape(s string) (ShapeRange, error) {
	name, spec, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || name == "" || spec == "" {
		return ShapeRange{}, fmt.Errorf("trt: shape %q: want name=MINxDIMS:OPTxDIMS:MAXxDIMS, e.g. input=1x3x320x320:4x3x640x640:8x3x640x640", s)
	}
	parts := strings.Split(spec, ":")
	if len(parts) != 1 && len(parts) != 3 {
		return ShapeRange{}, fmt.Errorf("trt: shape %q: want one shape or min:opt:max", s)
	}
	var shapes [][]int64
	for _, p := range parts {
		var dims []int64
		for _, f := range strings.Split(p, "x") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return ShapeRange{}, fmt.Errorf("trt: shape %q: %q is not a number", s, f)
			}
			dims = append(dims, v)
		}
		shapes = append(shapes, dims)
	}
	r := ShapeRange{Name: name, Min: shapes[0], Opt: shapes[0], Max: shapes[0]}
	if len(shapes) == 3 {
		r.Opt, r.Max = shapes[1], shapes[2]
	}
	return r, r.validate()
}

// ShapeList is the shape option: the profiles of the inputs with dynamic
// dimensions other than the batch, written comma-separated
// ("input=1x3x320x320:1x3x640x640:1x3x640x640,other=…").
type ShapeList []ShapeRange

// String returns the form UnmarshalText reads.
func (l ShapeList) String() string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// MarshalText writes the list as String does.
func (l ShapeList) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads comma-separated ParseShape forms ("" is none).
func (l *ShapeList) UnmarshalText(text []byte) error {
	var out ShapeList
	for _, p := range strings.Split(string(text), ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		s, err := ParseShape(p)
		if err != nil {
			return fmt.Errorf("shape: %w", err)
		}
		out = append(out, s)
	}
	if err := out.validate(); err != nil {
		return err
	}
	*l = out
	return nil
}

func (l ShapeList) validate() error {
	seen := map[string]bool{}
	for _, s := range l {
		if err := s.validate(); err != nil {
			return fmt.Errorf("shape: %w", err)
		}
		if seen[s.Name] {
			return fmt.Errorf("shape: input %q given twice", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// Profile is the resolved optimization profile of one network input, as
// handed to TensorRT.
type Profile = ShapeRange

// ResolveProfiles computes the optimization profile for every input of a
// parsed network that has a dynamic dimension (-1). A dynamic batch
// (dimension 0) takes the batch range; other dynamic dimensions must be
// given in shapes. A batch range for a model with a fixed batch is an error
// unless fixedBatchOK. It returns nil when no input is dynamic.
func ResolveProfiles(inputs []TensorDesc, batch BatchRange, shapes []ShapeRange, fixedBatchOK bool) ([]Profile, error) {
	byName := map[string]ShapeRange{}
	for _, s := range shapes {
		byName[s.Name] = s
	}
	known := map[string]bool{}
	var out []Profile
	for _, in := range inputs {
		if !in.Input {
			continue
		}
		known[in.Name] = true
		dyn := in.dynamic()
		if s, ok := byName[in.Name]; ok {
			if err := s.validate(); err != nil {
				return nil, err
			}
			if len(s.Min) != len(in.Shape) {
				return nil, fmt.Errorf("trt: shape %s has rank %d but input %q has shape %s", s, len(s.Min), in.Name, dimsString(in.Shape))
			}
			for i, d := range in.Shape {
				if d >= 0 && (s.Min[i] != d || s.Opt[i] != d || s.Max[i] != d) {
					return nil, fmt.Errorf("trt: shape %s: dimension %d of input %q is fixed at %d", s, i, in.Name, d)
				}
			}
			if dyn {
				out = append(out, s)
			}
			continue
		}
		if !dyn {
			if !batch.IsZero() && !fixedBatchOK && len(in.Shape) > 0 && int64(batch.Max) != in.Shape[0] {
				return nil, fmt.Errorf("trt: input %q has a fixed batch of %d (shape %s): --batch %s needs a model exported with a dynamic batch", in.Name, in.Shape[0], dimsString(in.Shape), batch)
			}
			continue
		}
		b := batch.orDefault()
		p := Profile{Name: in.Name, Min: clone(in.Shape), Opt: clone(in.Shape), Max: clone(in.Shape)}
		for i, d := range in.Shape {
			if d >= 0 {
				continue
			}
			if i != 0 {
				return nil, fmt.Errorf("trt: input %q has a dynamic dimension %d (shape %s): give its sizes with --shape %s=NxCxHxW:NxCxHxW:NxCxHxW (min:opt:max)", in.Name, i, dimsString(in.Shape), in.Name)
			}
			p.Min[0], p.Opt[0], p.Max[0] = int64(b.Min), int64(b.Opt), int64(b.Max)
		}
		out = append(out, p)
	}
	for _, s := range shapes {
		if !known[s.Name] {
			return nil, fmt.Errorf("trt: --shape names %q, which is not an input of the model", s.Name)
		}
	}
	return out, nil
}

func clone(d []int64) []int64 { return append([]int64(nil), d...) }
