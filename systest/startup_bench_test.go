package systest

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartupToWaitingRoom measures how long the real binary takes,
// from being started in a terminal to showing the waiting room (the
// target: within 300 ms). The screen is polled every 5 ms, so figures are
// up to 5 ms late.
func BenchmarkStartupToWaitingRoom(b *testing.B) {
	bin := binary(b)
	dir := b.TempDir()
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		pane := startTmux(b, 80, 24, []string{"TERM=xterm-256color"}, bin,
			"--listen", freePort(b), "--hpr", "bench@hpr.ndhm", "--ice-servers", "",
			"--media", "synthetic", "--log", filepath.Join(dir, "console.log"))
		for !strings.Contains(pane.capture(), "Waiting room") {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no waiting room after 10 s:\n%s", pane.capture())
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = append(took, time.Since(start))
		_ = pane.tmux("kill-server").Run()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "start-ms-p50")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "start-ms-max")
}
