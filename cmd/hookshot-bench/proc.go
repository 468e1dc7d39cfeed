package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times; it is
// 100 on every Linux that Go supports.
const clockTicks = 100

// processCPU is the user plus system CPU time, in seconds, that process pid
// has used so far.
func processCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(data)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and
// parentheses, so the fields are counted from its closing parenthesis.
func parseStatCPU(stat []byte) (float64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is field 3 (state), so utime (14) is fields[11].
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	return (utime + stime) / clockTicks, nil
}

// peakRSS is the high-water mark of process pid's resident set, in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(data)
}

func parseVmHWM(status []byte) (int64, error) {
	v, err := procField(status, "VmHWM:")
	if err != nil {
		return 0, err
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	return kb * 1024, err
}

// procField is the value of the line of a /proc file that begins with
// name, without the spaces around it.
func procField(data []byte, name string) (string, error) {
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s in the /proc file", strings.TrimSuffix(name, ":"))
}

// writeBytes is how many bytes process pid has caused to be sent to
// storage so far (write_bytes of /proc/<pid>/io): what the page cache
// will write back for it, the database's and its WAL's writes included.
func writeBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	return parseWriteBytes(data)
}

func parseWriteBytes(io []byte) (int64, error) {
	v, err := procField(io, "write_bytes:")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// postgresCPU is the CPU time used so far by every process named postgres
// on this machine: the server's backends, its writers and autovacuum. A
// backend that exits during a run takes its time with it, so the figure is
// a lower bound; Hookshot keeps its connections open, so little is lost.
func postgresCPU() float64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total float64
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		if s, err := parseStatCPU(stat); err == nil {
			total += s
		}
	}
	return total
}

// cpuTimes is the machine's CPU time so far, all CPUs together, from the
// first line of /proc/stat: in all, and the part of it the hypervisor gave
// to other guests (steal). On a shared host the steal decides the figures
// as much as Hookshot does, so the report shows it.
type cpuTimes struct{ total, steal float64 }

func machineCPU() (cpuTimes, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	return parseMachineCPU(data)
}

func parseMachineCPU(data []byte) (cpuTimes, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	fields := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var t cpuTimes
	for i, f := range fields[1:] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("unexpected /proc/stat line %q", line)
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		t.total += v
		if i == 7 {
			t.steal = v
		}
	}
	return t, nil
}

// stealShare is the part of the machine's CPU time between a and b that
// went to other guests, or -1 when it is not known.
func stealShare(a, b cpuTimes, errA, errB error) float64 {
	if errA != nil || errB != nil || b.total <= a.total {
		return -1
	}
	return (b.steal - a.steal) / (b.total - a.total)
}
