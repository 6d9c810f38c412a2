package ui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fitLine truncates the styled line s to w cells and pads it with spaces to
// exactly w cells.
func fitLine(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "")
		n = ansi.StringWidth(s)
	}
	if pad := w - n; pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// fitBlock makes s exactly h lines of exactly w cells each, cutting or
// padding as needed.
func fitBlock(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = fitLine(l, w)
	}
	return strings.Join(lines, "\n")
}

// box draws a frame of exactly w by h cells with title in its top edge and
// body (cut or padded) inside, using box-drawing characters only.
func box(border lipgloss.Style, title, body string, w, h int) string {
	if w < 2 || h < 2 {
		return fitBlock("", w, h)
	}
	return boxLines(border, title, strings.Split(fitBlock(body, w-2, h-2), "\n"), w)
}

// boxLines is box for a body already cut to size: h-2 lines of exactly w-2
// cells each. It measures none of them, which matters for the video, whose
// lines are mostly colour escapes (w >= 2).
func boxLines(border lipgloss.Style, title string, lines []string, w int) string {
	inner := w - 2
	top := "┌"
	if title != "" && inner >= 4 {
		t := ansi.Truncate(" "+title+" ", inner-1, "")
		top += "─" + t + strings.Repeat("─", inner-1-ansi.StringWidth(t))
	} else {
		top += strings.Repeat("─", inner)
	}
	top += "┐"
	var b strings.Builder
	b.WriteString(border.Render(top))
	side := border.Render("│")
	for _, l := range lines {
		b.WriteString("\n" + side + l + side)
	}
	b.WriteString("\n" + border.Render("└"+strings.Repeat("─", inner)+"┘"))
	return b.String()
}

// besides puts block b to the right of block a, line by line. Both have the
// same number of lines, and a's lines the same width (box's do): so unlike
// lipgloss.JoinHorizontal it need not measure them.
func besides(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	for i := range max(len(al), len(bl)) {
		if i > 0 {
			sb.WriteByte('\n')
		}
		if i < len(al) {
			sb.WriteString(al[i])
		}
		if i < len(bl) {
			sb.WriteString(bl[i])
		}
	}
	return sb.String()
}

// spread puts left at the start and right at the end of a w-cell line; when
// both do not fit, right wins and left is cut.
func spread(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if rw >= w {
		return fitLine(right, w)
	}
	if lw+rw+1 > w {
		left = ansi.Truncate(left, w-rw-1, "")
		lw = ansi.StringWidth(left)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

// center pads s on the left to center it in w cells.
func center(s string, w int) string {
	if pad := (w - ansi.StringWidth(s)) / 2; pad > 0 {
		return strings.Repeat(" ", pad) + s
	}
	return s
}
