package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time is counted for the whole process tree: this process's threads
// (the line's goroutines, OpenCV's thread pool, in-process codecs) and its
// child processes (the video encoder: ffmpeg with x264's threads). Children
// still running are read from /proc; children that have exited, from
// getrusage(RUSAGE_CHILDREN).

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// every Linux port).
const clockTick = 10 * time.Millisecond

// cpuSample is CPU time (user, system) at one moment.
type cpuSample struct {
	user, sys time.Duration
}

func (a cpuSample) add(b cpuSample) cpuSample { return cpuSample{a.user + b.user, a.sys + b.sys} }
func (a cpuSample) sub(b cpuSample) cpuSample { return cpuSample{a.user - b.user, a.sys - b.sys} }
func (a cpuSample) total() time.Duration      { return a.user + a.sys }

func rusage(who int) cpuSample {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return cpuSample{}
	}
	return cpuSample{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}

// selfCPU is this process's CPU time, every thread.
func selfCPU() cpuSample { return rusage(syscall.RUSAGE_SELF) }

// childrenCPU is the CPU time of this process's children: those waited for
// (RUSAGE_CHILDREN, their own children included) and those still running.
func childrenCPU() cpuSample {
	c := rusage(syscall.RUSAGE_CHILDREN)
	for _, pid := range livingChildren(os.Getpid()) {
		c = c.add(procCPU(pid))
	}
	return c
}

// livingChildren lists the children of pid (CONFIG_PROC_CHILDREN).
func livingChildren(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// procCPU reads a process's CPU time from /proc/PID/stat (fields 14 and
// 15, after the parenthesized command name), its waited-for children's
// (16 and 17) included.
func procCPU(pid int) cpuSample {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuSample{}
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return cpuSample{}
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return cpuSample{}
	}
	tick := func(k int) time.Duration {
		v, _ := strconv.ParseInt(f[k-3], 10, 64)
		return time.Duration(v) * clockTick
	}
	return cpuSample{user: tick(14) + tick(16), sys: tick(15) + tick(17)}
}

// machineBusy is the CPU time every core of the machine spent busy (all of
// /proc/stat's cpu line but idle and iowait), and the number of cores.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick, true
}

// others measures what other processes used of the machine while a mode
// ran: the machine's busy time minus this process tree's.
type others struct {
	wall0 time.Time
	busy0 time.Duration
	ours0 cpuSample
	ok    bool
}

func startOthers() *others {
	b, ok := machineBusy()
	return &others{wall0: time.Now(), busy0: b, ours0: selfCPU().add(childrenCPU()), ok: ok}
}

// stop returns the cores other processes kept busy, on average, since
// start (-1 when /proc/stat is unreadable).
func (o *others) stop() float64 {
	b, ok := machineBusy()
	wall := time.Since(o.wall0)
	if !ok || !o.ok || wall <= 0 {
		return -1
	}
	ours := selfCPU().add(childrenCPU()).sub(o.ours0).total()
	return max(0, (b-o.busy0-ours).Seconds()/wall.Seconds())
}
