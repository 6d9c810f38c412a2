package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// The call screen's Network panel: the call's figures, meters and sparklines.

// drawStats draws the Network panel for the current figures and size.
func (m *callModel) drawStats() {
	sw := statsWidth(m.width)
	m.statsPanel = box(m.styles.Border, "Network", m.statsBody(sw-2), sw, m.panelsHeight())
}

// statsWidth is the stats panel's width for a screen w cells wide.
func statsWidth(w int) int {
	switch {
	case w >= 110:
		return 48
	case w >= 60:
		return 38
	default:
		return w / 2
	}
}

// statsBody draws the stats panel w cells wide.
func (m callModel) statsBody(w int) string {
	st := m.styles
	s := m.stats
	half := w / 2
	kv := func(k, v string) string {
		return st.Label.Render(fmt.Sprintf("%-7s", k)) + st.Value.Render(v)
	}
	pair := func(k1, v1, k2, v2 string) string {
		left := kv(k1, v1)
		return left + strings.Repeat(" ", max(1, half-ansi.StringWidth(left))) + kv(k2, v2)
	}
	if !m.hasStats {
		return st.Dim.Render(" no figures yet")
	}
	res := "-"
	if s.WidthIn > 0 {
		res = fmt.Sprintf("%dx%d", s.WidthIn, s.HeightIn)
	}
	codec := orDash(s.VideoCodec)
	if s.AudioCodec != "" {
		codec += "+" + s.AudioCodec
	}
	lossStyle := st.Value
	if s.LossPercent >= 5 {
		lossStyle = st.Bad
	} else if s.LossPercent >= 1 {
		lossStyle = st.Warn
	}
	lines := []string{
		pair("RTT", formatMillis(s.RTT), "loss", lossStyle.Render(fmt.Sprintf("%.1f%%", s.LossPercent))),
		kv("jitter", formatMillis(s.Jitter)),
		// The pair has a line of its own: "relay->relay" is wider than half
		// the panel at 80 columns.
		kv("path", cut(pick(m.pathText() == "", "-", m.pathText()), max(1, w-7))),
	}
	if relay, local := m.path.Relay(); relay != "" {
		// Whose TURN allocation carries the media: the clinic's own
		// (relay-only, or no direct way out) or the patient's.
		lines = append(lines, kv("relay", cut(relay+pick(local, " ours", " patient's"), max(1, w-7))))
	}
	lines = append(lines,
		pair("in", formatRate(s.BitrateIn), "out", formatRate(s.BitrateOut)),
		pair("target", formatRate(s.TargetBitrate), "fps", fmt.Sprintf("%.0f/%.0f", s.FPSIn, s.FPSOut)),
		pair("video", res, "codec", codec),
		kv("audio", meter(s.AudioLevel, 10)+pick(s.AudioOnly, " audio only", "")),
	)
	// label(7) graph value(10): the graphs line up whatever their value.
	gw := max(1, w-7-10)
	graph := func(label string, h []float64, last string) string {
		return st.Label.Render(fmt.Sprintf("%-7s", label)) + st.Graph.Render(sparkline(h, gw)) + st.Value.Render(fmt.Sprintf("%10s", last))
	}
	lines = append(lines,
		graph("in", m.inHist, formatRate(s.BitrateIn)),
		graph("out", m.outHist, formatRate(s.BitrateOut)),
		graph("rtt", m.rttHist, formatMillis(s.RTT)),
	)
	if s.Note != "" {
		lines = append(lines, st.Warn.Render(cut(s.Note, w)))
	}
	if s.Remark != "" {
		lines = append(lines, st.Dim.Render(cut(s.Remark, w)))
	}
	return strings.Join(lines, "\n")
}

// pathText is the selected candidate pair as local type -> remote type
// ("host->relay"); before the engine reports one, the sample's kind alone.
func (m callModel) pathText() string {
	if m.path.Known() {
		return m.path.String()
	}
	return m.stats.PathType
}

// meter draws a level from 0 to 1 as an ASCII bar w cells wide.
func meter(level float64, w int) string {
	n := int(min(1, max(0, level))*float64(w) + 0.5)
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", w-n) + "]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return cut(s, 12)
}

// formatRate writes a bit rate: "812 kb/s", "1.25 Mb/s", or "-" if unknown.
func formatRate(bps int) string {
	switch {
	case bps <= 0:
		return "-"
	case bps < 1000:
		return fmt.Sprintf("%d b/s", bps)
	case bps < 1000000:
		return fmt.Sprintf("%d kb/s", bps/1000)
	default:
		return fmt.Sprintf("%.2f Mb/s", float64(bps)/1e6)
	}
}

// formatMillis writes a duration in whole milliseconds, or "-" if zero.
func formatMillis(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
