package bench

import (
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }
