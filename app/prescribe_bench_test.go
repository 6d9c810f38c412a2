package app

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/simpatient"
)

// BenchmarkPrescriptionToPatient measures what the prescription's target
// is about: from the doctor's key (RxSign: check, sign, render the PDF and
// the PNG, keep them in the record) to the patient's endpoint holding both
// files, over loopback HTTP. One op is one prescription, a new version of
// the last; it reports the median and the 99th percentile.
func BenchmarkPrescriptionToPatient(b *testing.B) {
	store, err := record.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	profile := rx.Profile{Name: "Dr. Ganesh Borse", Qualifications: "MBBS", Council: "Maharashtra Medical Council",
		Registration: "MMC-2011-04567", Address: "4 FC Road, Pune", Phone: "+91 20 2567 0000"}
	key := rx.Ed25519Key{Private: ed25519.NewKeyFromSeed([]byte("teleconsole app prescription key")), ID: "teleconsole|k1|ed25519"}
	r := newConfigRig(b, func(c *Config) {
		c.Record = store
		c.Profile = func() (rx.Profile, error) { return profile, nil }
		c.RxKey = key
	})
	_, events := r.addPatient(simpatient.Config{Address: "asha@sbx", Name: "Asha Kumari", Gender: "F", KeepDir: b.TempDir()})
	deadline := time.After(10 * time.Second)
	for acked := false; !acked; {
		select {
		case e := <-events:
			acked = e.Kind == simpatient.EventAcked
		case <-deadline:
			b.Fatal("the patient was never ACKed")
		}
	}
	form, _, err := r.console.RxForm("asha@sbx")
	if err != nil {
		b.Fatal(err)
	}
	form += "age: 34 years\ndiagnosis: Acute pharyngitis\nrx: paracetamol|500 mg|tablet|1 tablet|three times a day|oral|3 days\n"
	var took []time.Duration
	for i := 1; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := r.console.RxSign("asha@sbx", strings.Replace(form, "3 days", fmt.Sprintf("%d days", 3+i%5), 1)); err != nil {
			b.Fatal(err)
		}
		want := map[string]bool{fmt.Sprintf("prescription-v%d.png", i): true, fmt.Sprintf("prescription-v%d.pdf", i): true}
		timeout := time.After(20 * time.Second)
		for len(want) > 0 {
			select {
			case e := <-events:
				for n := range want {
					if e.Kind == simpatient.EventChat && strings.HasPrefix(e.Text, "file received: "+n) {
						delete(want, n)
					}
				}
			case <-timeout:
				b.Fatalf("prescription %d: the patient still lacks %v", i, want)
			}
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(took[min(len(took)-1, len(took)*99/100)].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
}
