// Package post holds the stages that work on a frame after detection:
// blurring faces (Blur) and drawing the on-screen display (OSD): boxes,
// labels, scores, distances and the frame rate. Both draw on Frame.Image in
// place. Each Processor value keeps its scratch Mats between frames, so use
// one per worker; Close releases them.
package post
