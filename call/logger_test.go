package call

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestPionLogsGoToSlogWithChattyScopesDemoted(t *testing.T) {
	var buf bytes.Buffer
	f := slogFactory{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	f.NewLogger("pacer").Infof("budget=%d", 592)
	f.NewLogger("gcc_delay_controller").Info("delaystats")
	f.NewLogger("pc").Infof("ICE connection state changed: %s", "connected")
	f.NewLogger("pacer").Warn("pacer queue full")
	out := buf.String()
	if strings.Contains(out, "budget=") || strings.Contains(out, "delaystats") {
		t.Errorf("per-packet Info lines reached an Info log:\n%s", out)
	}
	for _, want := range []string{"pion=pc", "ICE connection state changed: connected", "pacer queue full"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
