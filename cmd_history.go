package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"teleconsole/record"
)

// runHistory prints past consultations, newest first, or forgets a patient.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole history", "usage: teleconsole history [--patient ADDRESS] [--since DATE] [--format table|json|csv|fhir|pdf]\n"+
		"       teleconsole history --forget ADDRESS\n\n"+
		"Past consultations from the record, newest first: json gives each with its chat,\n"+
		"files and notes; fhir gives each as ABDM health records, one FHIR R4 document bundle\n"+
		"a line (OPConsultRecord, then PrescriptionRecord); pdf the patient's copy, one PDF\n"+
		"(with --patient, theirs alone). --forget deletes one patient's records and files.", stderr)
	var d dataFlags
	d.register(fs)
	patient := fs.String("patient", "", "only this patient's consultations (ABHA `ADDRESS`)")
	since := fs.String("since", "", "only consultations since `DATE` (YYYY-MM-DD, local time, or RFC 3339)")
	format := fs.String("format", "table", "table, json, csv, fhir or pdf")
	forget := fs.String("forget", "", "delete every record and file of the patient at `ADDRESS`")
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	var f record.Filter
	f.Patient = *patient
	if *since != "" {
		t, err := parseDate(*since)
		if err != nil {
			fmt.Fprintf(stderr, "teleconsole history: --since %q: want YYYY-MM-DD or RFC 3339\n", *since)
			return 2
		}
		f.Since = t
	}
	switch *format {
	case "table", "json", "csv", "fhir", "pdf":
	default:
		fmt.Fprintf(stderr, "teleconsole history: --format %q: want table, json, csv, fhir or pdf\n", *format)
		return 2
	}
	store, err := d.openStore(record.Shared())
	if err != nil {
		return fail(stderr, err)
	}
	defer store.Close()
	if *forget != "" {
		n, err := store.Forget(ctx, *forget)
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "forgot %d consultation(s) of %s\n", n, *forget)
		return 0
	}
	list, err := store.List(ctx, f)
	if err != nil {
		return fail(stderr, err)
	}
	switch *format {
	case "fhir":
		dir, err := d.dir()
		if err != nil {
			return fail(stderr, err)
		}
		if err := writeFHIR(ctx, store, dir, list, stdout); err != nil {
			return fail(stderr, err)
		}
	case "pdf":
		dir, err := d.dir()
		if err != nil {
			return fail(stderr, err)
		}
		if err := writeSummary(ctx, store, dir, list, stdout); err != nil {
			return fail(stderr, err)
		}
	case "json":
		details := make([]record.Detail, 0, len(list))
		for _, c := range list {
			dt, err := store.Get(ctx, c.ID)
			if err != nil {
				return fail(stderr, err)
			}
			details = append(details, dt)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(details); err != nil {
			return fail(stderr, err)
		}
	case "csv":
		w := csv.NewWriter(stdout)
		_ = w.Write(historyColumns)
		for _, c := range list {
			_ = w.Write(historyRow(c))
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return fail(stderr, err)
		}
	default:
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for i, col := range historyColumns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, col)
		}
		fmt.Fprintln(tw)
		for _, c := range list {
			for i, v := range historyRow(c) {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, v)
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return fail(stderr, err)
		}
	}
	return 0
}

var historyColumns = []string{"started", "patient", "name", "length", "end", "state", "messages", "files", "rtt_median_ms", "id"}

func historyRow(c record.Consultation) []string {
	rtt := ""
	if c.Quality.RTTMedian > 0 {
		rtt = strconv.FormatInt(c.Quality.RTTMedian.Milliseconds(), 10)
	}
	return []string{c.Started.Local().Format("2006-01-02 15:04"), c.Patient.Address, c.Patient.Name,
		c.Length.Round(time.Second).String(), c.EndReason, c.State.String(), strconv.Itoa(c.Messages),
		strconv.Itoa(c.Files), rtt, c.ID}
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
