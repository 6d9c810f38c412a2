package fhir

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/google/uuid"

	"teleconsole/record"
	"teleconsole/rx"
)

// The NRCeS canonical base of the ABDM profiles, and the code systems.
const (
	ProfileBase   = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
	SNOMED        = "http://snomed.info/sct"
	ICD10         = "http://hl7.org/fhir/sid/icd-10"
	ndhmIDType    = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code"
	v2IDType      = "http://terminology.hl7.org/CodeSystem/v2-0203"
	actCode       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	abhaSystem    = "https://healthid.abdm.gov.in"
	hprSystem     = "https://doctor.ndhm.gov.in"
	hfrSystem     = "https://facility.ndhm.gov.in"
	docIDSystem   = "urn:ietf:rfc:3986"
	councilSystem = "https://teleconsole.invalid/council-registration"
)

// Input is one consultation as the records describe it.
type Input struct {
	// Consultation is the record's consultation, with its free-text notes.
	Consultation record.Detail
	// Notes are the doctor's structured notes (zero when none).
	Notes rx.Notes
	// Doctor is the doctor's profile; Patient the patient as the
	// prescription names them (the record's name and gender when none).
	Doctor  rx.Profile
	Patient rx.Patient
	// Mode is how the consultation was held.
	Mode rx.Mode
	// Prescription is the current version of the signed prescription, or
	// nil; PrescriptionPDF its rendered PDF.
	Prescription    *rx.Signed
	PrescriptionPDF []byte
}

// obj is a FHIR JSON object; encoding/json writes its keys sorted, so a
// bundle's bytes are the same for the same input.
type obj = map[string]any

// builder makes one bundle's entries, with ids derived from the
// consultation's, so the same consultation exports the same bundle.
type builder struct {
	in      Input
	scope   string
	entries []any
	at      time.Time
}

func (b *builder) id(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("teleconsole:"+b.in.Consultation.ID+"/"+b.scope+"/"+name)).String()
}

func ref(id string) obj { return obj{"reference": "urn:uuid:" + id} }

// add puts a resource in the bundle with its profile and returns its id.
func (b *builder) add(name, resourceType, profile string, r obj) string {
	id := b.id(name)
	r["resourceType"] = resourceType
	r["id"] = id
	r["meta"] = obj{"profile": []string{ProfileBase + profile}}
	b.entries = append(b.entries, obj{"fullUrl": "urn:uuid:" + id, "resource": r})
	return id
}

func coding(system, code, display string) obj {
	return obj{"coding": []obj{{"system": system, "code": code, "display": display}}, "text": display}
}

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// participants adds the patient, the doctor and the organisation, and
// returns their ids.
func (b *builder) participants() (patient, doctor, org string) {
	c := b.in.Consultation
	p := b.in.Patient
	name := patientName(b.in)
	pr := obj{"name": []obj{{"text": name}},
		"identifier": []obj{{"type": coding(ndhmIDType, "ABHA", "ABHA Address"), "system": abhaSystem, "value": c.Patient.Address}}}
	if g := gender(p.Sex, c.Patient.Gender); g != "" {
		pr["gender"] = g
	}
	if p.Contact != "" {
		pr["telecom"] = []obj{{"system": "phone", "value": p.Contact}}
	}
	patient = b.add("patient", "Patient", "Patient", pr)
	d := b.in.Doctor
	var ids []obj
	hpr := d.HPRID
	if hpr == "" {
		hpr = c.Doctor
	}
	ids = append(ids, obj{"type": coding(ndhmIDType, "HPIN", "Health Professional Identification Number"), "system": hprSystem, "value": hpr})
	if d.Registration != "" {
		ids = append(ids, obj{"type": coding(v2IDType, "MD", "Medical License number"), "system": councilSystem, "value": d.Registration,
			"assigner": obj{"display": d.Council}})
	}
	dr := obj{"identifier": ids, "name": []obj{{"text": nonEmpty(d.Name, hpr)}}}
	if d.Qualifications != "" {
		dr["qualification"] = []obj{{"code": obj{"text": d.Qualifications}}}
	}
	doctor = b.add("practitioner", "Practitioner", "Practitioner", dr)
	org = b.add("organization", "Organization", "Organization", obj{
		"name": nonEmpty(d.Clinic, nonEmpty(d.Name, "The practice of "+hpr)),
		"identifier": []obj{{"type": coding(v2IDType, "PRN", "Provider number"), "system": hfrSystem,
			"value": nonEmpty(d.FacilityID, hpr)}},
	})
	return patient, doctor, org
}

func nonEmpty(v, otherwise string) string {
	if strings.TrimSpace(v) != "" {
		return v
	}
	return otherwise
}

// gender is FHIR's administrative gender of the words given.
func gender(words ...string) string {
	for _, w := range words {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "m", "male", "man":
			return "male"
		case "f", "female", "woman":
			return "female"
		case "o", "other":
			return "other"
		}
	}
	return ""
}

// patientName is the patient's name as the prescription, else the record,
// else their address gives it.
func patientName(in Input) string {
	return nonEmpty(in.Patient.Name, nonEmpty(in.Consultation.Patient.Name, in.Consultation.Patient.Address))
}

// encounter adds the consultation as a virtual encounter with the call's
// times.
func (b *builder) encounter(patient, doctor string) string {
	c := b.in.Consultation
	start := c.Started
	if !c.CallStarted.IsZero() {
		start = c.CallStarted
	}
	period := obj{"start": fhirTime(start)}
	status := "in-progress"
	if end := endOf(c); !end.IsZero() {
		period["end"] = fhirTime(end)
		status = "finished"
	}
	return b.add("encounter", "Encounter", "Encounter", obj{
		"status":      status,
		"class":       obj{"system": actCode, "code": "VR", "display": "virtual"},
		"subject":     ref(patient),
		"participant": []obj{{"individual": ref(doctor)}},
		"period":      period,
	})
}

// endOf is when a consultation ended: its end, or the last write of an
// interrupted one.
func endOf(c record.Detail) time.Time {
	if !c.Ended.IsZero() {
		return c.Ended
	}
	if c.State == record.StateInterrupted {
		return c.LastActivity
	}
	return time.Time{}
}

// section is a composition section: its SNOMED code and display, and its
// entries' references.
func section(title, code, display string, entries ...obj) obj {
	return obj{"title": title, "code": coding(SNOMED, code, display), "entry": entries}
}

// narrative is a resource's text: the XHTML FHIR asks for, escaped.
func narrative(lines ...string) obj {
	var b strings.Builder
	b.WriteString(`<div xmlns="http://www.w3.org/1999/xhtml">`)
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(l), "\n", "<br/>") + "</p>")
	}
	b.WriteString("</div>")
	return obj{"status": "generated", "div": b.String()}
}

// bundle wraps the entries, the composition first, as a DocumentBundle.
func (b *builder) bundle(composition obj) obj {
	bundleID := b.id("bundle")
	entries := append([]any{obj{"fullUrl": "urn:uuid:" + b.id("composition"), "resource": composition}}, b.entries...)
	return obj{
		"resourceType": "Bundle",
		"id":           bundleID,
		"meta":         obj{"versionId": "1", "lastUpdated": fhirTime(b.at), "profile": []string{ProfileBase + "DocumentBundle"}},
		"identifier":   obj{"system": docIDSystem, "value": "urn:uuid:" + bundleID},
		"type":         "document",
		"timestamp":    fhirTime(b.at),
		"entry":        entries,
	}
}

func (b *builder) composition(profile, code, display, title string, patient, doctor, org, enc string, sections []obj) obj {
	c := obj{
		"resourceType": "Composition",
		"id":           b.id("composition"),
		"meta":         obj{"versionId": "1", "lastUpdated": fhirTime(b.at), "profile": []string{ProfileBase + profile}},
		"identifier":   obj{"system": docIDSystem, "value": "urn:uuid:" + b.id("composition")},
		"status":       "final",
		"type":         coding(SNOMED, code, display),
		"subject":      ref(patient),
		"date":         fhirTime(b.at),
		"author":       []obj{ref(doctor)},
		"title":        title,
		"custodian":    ref(org),
		"section":      sections,
	}
	if enc != "" {
		c["encounter"] = ref(enc)
	}
	return c
}

// OPConsult is the consultation's OPConsultRecord document.
func OPConsult(in Input) obj {
	b := &builder{in: in, scope: "opconsult", at: recordTime(in)}
	patient, doctor, org := b.participants()
	enc := b.encounter(patient, doctor)
	n := in.Notes
	var sections []obj
	var complaints []obj
	if n.ChiefComplaints != "" {
		complaints = append(complaints, ref(b.add("complaint", "Condition", "Condition", obj{
			"code": obj{"text": n.ChiefComplaints}, "subject": ref(patient), "encounter": ref(enc), "clinicalStatus": active(),
			"category": []obj{coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")},
		})))
	}
	if n.Diagnosis.Text != "" {
		complaints = append(complaints, ref(b.add("diagnosis", "Condition", "Condition", diagnosis(n.Diagnosis, patient, enc))))
	}
	if len(complaints) > 0 {
		sections = append(sections, section("Chief complaints", "422843007", "Chief complaint section", complaints...))
	}
	if n.History != "" {
		sections = append(sections, section("Medical history", "371529009", "History and physical report",
			ref(b.add("history", "Condition", "Condition", obj{"code": obj{"text": n.History}, "subject": ref(patient), "clinicalStatus": active()}))))
	}
	if n.Allergies != "" {
		sections = append(sections, section("Allergies", "722446000", "Allergy record",
			ref(b.add("allergy", "AllergyIntolerance", "AllergyIntolerance", obj{
				"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
				"code":           obj{"text": n.Allergies}, "patient": ref(patient), "recorder": ref(doctor),
			}))))
	}
	var exam []obj
	for _, o := range []struct{ name, label, value string }{{"examination", "Examination findings", n.Examination}, {"vitals", "Vitals (reported by the patient)", n.Vitals}} {
		if o.value != "" {
			exam = append(exam, ref(b.add(o.name, "Observation", "Observation", obj{
				"status": "final", "code": obj{"text": o.label}, "subject": ref(patient), "encounter": ref(enc),
				"performer": []obj{ref(doctor)}, "valueString": o.value,
			})))
		}
	}
	if len(exam) > 0 {
		sections = append(sections, section("Physical examination", "425044008", "Physical exam section", exam...))
	}
	if n.Investigations != "" {
		sections = append(sections, section("Investigation advice", "721963009", "Order document",
			ref(b.add("investigations", "ServiceRequest", "ServiceRequest", obj{
				"status": "active", "intent": "order", "code": obj{"text": n.Investigations}, "subject": ref(patient),
				"encounter": ref(enc), "requester": ref(doctor), "authoredOn": fhirTime(b.at),
			}))))
	}
	if in.Prescription != nil {
		var meds []obj
		for i, m := range in.Prescription.Prescription.Medicines {
			meds = append(meds, ref(b.add(fmt.Sprintf("medication-%d", i), "MedicationRequest", "MedicationRequest",
				medicationRequest(m, in.Prescription.Prescription, patient, doctor, enc))))
		}
		if len(meds) > 0 {
			sections = append(sections, section("Medications", "721912009", "Medication summary document", meds...))
		}
	}
	if n.FollowUp != "" {
		if day, err := time.ParseInLocation("2006-01-02", n.FollowUp, ist); err == nil {
			sections = append(sections, section("Follow-up", "390906007", "Follow-up encounter",
				ref(b.add("follow-up", "Appointment", "Appointment", obj{
					"status": "proposed", "description": "Follow-up consultation",
					"start": fhirTime(day), "end": fhirTime(day.Add(24*time.Hour - time.Second)),
					"participant": []obj{{"actor": ref(patient), "status": "needs-action"}, {"actor": ref(doctor), "status": "accepted"}},
				}))))
		}
	}
	if free := strings.TrimSpace(in.Consultation.Notes); free != "" || len(sections) == 0 {
		// The free-text notes, as a document of their own (a section
		// needs an entry), and the composition's narrative below.
		sections = append(sections, section("Notes", "371530004", "Clinical consultation report",
			ref(b.add("notes", "DocumentReference", "DocumentReference", obj{
				"status": "current", "type": coding(SNOMED, "371530004", "Clinical consultation report"), "subject": ref(patient),
				"author": []obj{ref(doctor)},
				"content": []obj{{"attachment": obj{"contentType": "text/plain; charset=utf-8", "title": "Doctor's notes",
					"data": base64.StdEncoding.EncodeToString([]byte(nonEmpty(free, "No notes.")))}}},
			}))))
	}
	comp := b.composition("OPConsultRecord", "371530004", "Clinical consultation report", "Consultation Report", patient, doctor, org, enc, sections)
	comp["text"] = narrative("Teleconsultation ("+string(in.Mode)+") with "+patientName(in)+".",
		"Diagnosis: "+nonEmpty(n.Diagnosis.Text, "none recorded")+".", in.Consultation.Notes)
	return b.bundle(comp)
}

// ist is India's time zone: a follow-up day is a day there.
var ist = time.FixedZone("IST", 5*3600+1800)

func diagnosis(d rx.Diagnosis, patient, enc string) obj {
	code := obj{"text": d.Text}
	switch d.System {
	case rx.ICD10:
		code = coding(ICD10, d.Code, d.Text)
	case rx.SNOMED:
		code = coding(SNOMED, d.Code, d.Text)
	}
	return obj{"code": code, "subject": ref(patient), "encounter": ref(enc), "clinicalStatus": active(),
		"category":           []obj{coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")},
		"verificationStatus": coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional", "Provisional")}
}

func active() obj {
	return coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")
}

func medicationRequest(m rx.Medicine, p rx.Prescription, patient, doctor, enc string) obj {
	dose := obj{"text": strings.TrimSpace(strings.Join(strings.Fields(m.Dose+", "+m.Frequency+", for "+m.Duration), " ")), "sequence": 1}
	if m.Instructions != "" {
		dose["patientInstruction"] = m.Instructions
	}
	if m.Route != "" {
		dose["route"] = obj{"text": m.Route}
	}
	name := strings.TrimSpace(strings.Join(strings.Fields(m.Name()+" "+m.Strength+" "+m.Form), " "))
	r := obj{
		"status": "active", "intent": "order",
		"medicationCodeableConcept": obj{"text": name},
		"subject":                   ref(patient),
		"authoredOn":                fhirTime(p.Issued),
		"requester":                 ref(doctor),
		"dosageInstruction":         []obj{dose},
		"groupIdentifier":           obj{"system": docIDSystem, "value": "urn:uuid:" + p.ID},
	}
	if enc != "" {
		r["encounter"] = ref(enc)
	}
	return r
}

// recordTime is when the consultation's record was last written.
func recordTime(in Input) time.Time {
	t := in.Consultation.LastActivity
	if in.Prescription != nil && in.Prescription.Prescription.Issued.After(t) {
		t = in.Prescription.Prescription.Issued
	}
	if t.IsZero() {
		t = in.Consultation.Started
	}
	return t
}

// Prescription is the PrescriptionRecord of the current version of the
// consultation's prescription: its MedicationRequests and the signed PDF
// as a Binary, every section entry with its type. It is nil when there is
// no prescription.
func Prescription(in Input) obj {
	if in.Prescription == nil {
		return nil
	}
	p := in.Prescription.Prescription
	b := &builder{in: in, scope: "prescription/" + p.ID, at: p.Issued}
	patient, doctor, org := b.participants()
	enc := b.encounter(patient, doctor)
	var entries []obj
	for i, m := range p.Medicines {
		e := ref(b.add(fmt.Sprintf("medication-%d", i), "MedicationRequest", "MedicationRequest", medicationRequest(m, p, patient, doctor, enc)))
		e["type"] = "MedicationRequest"
		entries = append(entries, e)
	}
	if len(in.PrescriptionPDF) > 0 {
		e := ref(b.add("pdf", "Binary", "Binary", obj{"contentType": "application/pdf",
			"data": base64.StdEncoding.EncodeToString(in.PrescriptionPDF)}))
		e["type"] = "Binary"
		entries = append(entries, e)
	}
	comp := b.composition("PrescriptionRecord", "440545006", "Prescription record", "Prescription", patient, doctor, org, enc,
		[]obj{section("Prescription", "440545006", "Prescription record", entries...)})
	comp["identifier"] = obj{"system": docIDSystem, "value": "urn:uuid:" + p.ID}
	if p.Replaces != "" {
		comp["relatesTo"] = []obj{{"code": "replaces", "targetIdentifier": obj{"system": docIDSystem, "value": "urn:uuid:" + p.Replaces}}}
	}
	comp["text"] = narrative(fmt.Sprintf("Prescription version %d, signed %s, SHA-256 %s.", p.Version, fhirTime(p.Issued), in.Prescription.Hash))
	return b.bundle(comp)
}

// Bundles are the consultation's documents as JSON: the OPConsultRecord,
// then the PrescriptionRecord when there is a prescription.
func Bundles(in Input) ([][]byte, error) {
	docs := []obj{OPConsult(in)}
	if p := Prescription(in); p != nil {
		docs = append(docs, p)
	}
	var out [][]byte
	for _, d := range docs {
		var j bytes.Buffer
		enc := json.NewEncoder(&j)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("fhir: %w", err)
		}
		out = append(out, bytes.TrimSuffix(j.Bytes(), []byte("\n")))
	}
	return out, nil
}
