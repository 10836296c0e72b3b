// Command conveyor runs video-analytics lines: sources → preprocess →
// inference → postprocess → outputs, as goroutines joined by bounded
// channels. `conveyor help` lists the commands.
package main

import (
	"fmt"
	"os"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

func main() {
	quietNativeLogs()
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "conveyor: "+meta.RedactURI(oneLine(err)))
		os.Exit(1)
	}
}
