package trt

import "fmt"

// ioPlan is what a Context needs to know about an engine's tensors to bind
// them: the one input, its profile, the outputs in engine order, and the
// input shape at which buffers are sized (the profile's maximum).
type ioPlan struct {
	input    TensorDesc
	profile  *Profile
	outputs  []TensorDesc
	maxInput []int64
}

// planIO checks the tensors an engine reports and works out the largest
// input it accepts, for sizing buffers once.
func planIO(io []TensorDesc, prof *Profile) (ioPlan, error) {
	if err := checkBindable(io); err != nil {
		return ioPlan{}, err
	}
	var p ioPlan
	for _, t := range io {
		if t.Input {
			p.input = t
		} else {
			p.outputs = append(p.outputs, t)
		}
	}
	if len(p.outputs) == 0 {
		return ioPlan{}, fmt.Errorf("trt: the engine has no outputs")
	}
	p.maxInput = clone(p.input.Shape)
	if p.input.dynamic() {
		if prof == nil || len(prof.Max) != len(p.input.Shape) {
			return ioPlan{}, fmt.Errorf("trt: input %q has shape %s but the engine has no matching optimization profile", p.input.Name, dimsString(p.input.Shape))
		}
		p.profile = prof
		for i, d := range p.input.Shape {
			if d < 0 {
				p.maxInput[i] = prof.Max[i]
			}
		}
	}
	if _, err := bufferBytes(p.maxInput, p.input.DType); err != nil {
		return ioPlan{}, err
	}
	return p, nil
}

// maxBatch is the largest first dimension the input takes (1 when unknown).
func (p ioPlan) maxBatch() int {
	if len(p.maxInput) == 0 || p.maxInput[0] < 1 {
		return 1
	}
	return int(p.maxInput[0])
}
