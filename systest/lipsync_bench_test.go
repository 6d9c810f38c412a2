package systest

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLipSync runs only the lip-sync calls of BenchmarkSideBySide
// (make lipsync): the table's lip-sync row, then every mark as its receiver
// wrote it down. Lip sync varies from run to run on a loaded machine, and
// the whole side-by-side run takes minutes; this takes about two.
//
// It does its work once, whatever b.N: run it with -benchtime 1x.
func BenchmarkLipSync(b *testing.B) {
	r := lipSyncCalls(b)
	var w strings.Builder
	fmt.Fprintln(&w, "| what | teleconsole | Chromium (libwebrtc) | target | verdict |")
	fmt.Fprintln(&w, "|---|---|---|---|---|")
	r.rows(&w)
	fmt.Println(w.String())
	for _, d := range r.detail {
		fmt.Println(d)
	}
	b.ReportMetric(ms(median(r.tcToChrome)-r.meterLatency), "lipsync-ms-to-chromium")
	b.ReportMetric(ms(worstOffset(r.tcToChrome)-r.meterLatency), "lipsync-worst-ms-to-chromium")
	b.ReportMetric(ms(worstOffset(r.tcByPlayout)), "lipsync-worst-ms-to-chromium-by-playout")
	b.ReportMetric(ms(worstOffset(r.chromeToChrome)), "lipsync-worst-ms-chromium-both")
}
