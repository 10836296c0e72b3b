// Command conveyor runs video-analytics lines: sources → preprocess →
// inference → postprocess → outputs, as goroutines joined by bounded
// channels. `conveyor help` lists the commands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "conveyor: "+oneLine(err))
		os.Exit(1)
	}
}
