// Package sysload measures how busy the machine was while a stage ran, and
// how much of that was the benchmark's own processes, so that results can
// say whether they were taken on a quiet machine.
package sysload

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// CPUTimes reads the machine-wide busy and total CPU time from /proc/stat.
func CPUTimes() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		total += time.Duration(n) * clockTick
		if i != 3 && i != 4 { // idle, iowait
			busy += time.Duration(n) * clockTick
		}
	}
	return busy, total, nil
}

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// OwnCPU returns the CPU time used so far by this process, its waited-for
// children, and every live process in one of the process groups pgids
// (including what those processes' own waited-for children used).
func OwnCPU(pgids map[int]bool) time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	d := tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
	if len(pgids) == 0 {
		return d
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f, err := statFields(string(b), 15); err == nil && pgids[atoi(f[2])] {
			d += ticks(f[11:15]) // utime stime cutime cstime
		}
	}
	return d
}

// ProcCPU returns the user + system CPU time of process pid (all its
// threads) from /proc/<pid>/stat.
func ProcCPU(pid int) (time.Duration, error) { return readProc(pid, "stat", parseStatCPU) }

// ProcRSS returns the resident memory of process pid, in bytes, from the
// VmRSS line of /proc/<pid>/status.
func ProcRSS(pid int) (int64, error) { return readProc(pid, "status", parseRSS) }

// readProc parses the file /proc/<pid>/<name>.
func readProc[T any](pid int, name string, parse func(string) (T, error)) (T, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(string(b))
}

// parseStatCPU reads utime + stime from the text of /proc/<pid>/stat.
func parseStatCPU(stat string) (time.Duration, error) {
	f, err := statFields(stat, 13)
	if err != nil {
		return 0, err
	}
	for _, v := range f[11:13] {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
	}
	return ticks(f[11:13]), nil
}

// parseRSS reads "VmRSS:	  24840 kB" from the text of /proc/<pid>/status.
func parseRSS(status string) (int64, error) {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("/proc status: bad line %q", l)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc status: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc status: no VmRSS line")
}

// statFields returns the fields of a /proc/<pid>/stat text after the
// command name, which is in parentheses and may hold spaces: state is the
// first, pgrp the 3rd, utime the 12th and stime the 13th. It wants at
// least n of them.
func statFields(stat string, n int) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc stat %.60q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < n {
		return nil, fmt.Errorf("/proc stat %.60q: %d fields after the name", stat, len(f))
	}
	return f, nil
}

// ticks adds up CPU times given in clock ticks.
func ticks(vs []string) time.Duration {
	var d time.Duration
	for _, v := range vs {
		d += time.Duration(atoi(v)) * clockTick
	}
	return d
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// Load is how busy the machine was over an interval of length Wall: Busy is
// its CPU use as a fraction of all its cores, Ours the part of Busy used by
// the benchmark's own processes, Others the rest (other users of the
// machine); LoadAvg is the 1-minute load average at the start and end.
type Load struct {
	Wall               time.Duration
	Busy, Ours, Others float64
	LoadAvg            [2]float64
}

// Meter measures one interval.
type Meter struct {
	pgids             func() map[int]bool
	t0                time.Time
	busy0, tot0, own0 time.Duration
	load0             float64
}

// Start begins measuring; pgids returns the benchmark's live process groups.
func Start(pgids func() map[int]bool) *Meter {
	m := &Meter{pgids: pgids, t0: time.Now(), load0: LoadAvg()[0]}
	m.busy0, m.tot0, _ = CPUTimes()
	m.own0 = OwnCPU(pgids())
	return m
}

// Stop ends the interval and returns its Load. Processes that exited during
// the interval without being waited for by the benchmark are counted as
// other load, so Others is an upper bound.
func (m *Meter) Stop() Load {
	busy, tot, _ := CPUTimes()
	own := OwnCPU(m.pgids())
	l := Load{Wall: time.Since(m.t0), LoadAvg: [2]float64{m.load0, LoadAvg()[0]}}
	cap := float64(tot - m.tot0)
	if cap <= 0 {
		cap = float64(l.Wall) * float64(runtime.NumCPU())
	}
	if cap > 0 {
		l.Busy = float64(busy-m.busy0) / cap
		l.Ours = min(float64(own-m.own0)/cap, l.Busy)
		l.Others = max(l.Busy-l.Ours, 0)
	}
	return l
}
