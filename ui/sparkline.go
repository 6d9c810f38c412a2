package ui

import "strings"

// sparkTicks are the eight single-width block elements of a sparkline,
// lowest first.
const sparkTicks = "▁▂▃▄▅▆▇█"

// sparkline draws the last width values of vals as a one-line graph scaled
// to their maximum, right-aligned and padded on the left with spaces so
// that it is always width cells wide. A zero value draws the lowest tick.
func sparkline(vals []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	ticks := []rune(sparkTicks)
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(vals)))
	top := len(ticks) - 1
	for _, v := range vals {
		i := 0
		if hi > 0 && v > 0 {
			i = min(top, max(0, int(v/hi*float64(top)+0.5)))
		}
		b.WriteRune(ticks[i])
	}
	return b.String()
}
