package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// sectionRule is one OPConsultRecord section of the NRCeS profile: its
// SNOMED code, the display it must carry, and the entries it may hold.
type sectionRule struct {
	code, display string
	entries       []string
}

// opConsultSections are the OPConsultRecord's sections (docs/prescription.md).
var opConsultSections = []sectionRule{
	{"422843007", "Chief complaint section", []string{"Condition"}},
	{"425044008", "Physical exam section", []string{"Observation"}},
	{"722446000", "Allergy record", []string{"AllergyIntolerance"}},
	{"371529009", "History and physical report", []string{"Condition", "Procedure"}},
	{"422432008", "Family history section", []string{"FamilyMemberHistory"}},
	{"721963009", "Order document", []string{"ServiceRequest"}},
	{"721912009", "Medication summary document", []string{"MedicationRequest", "MedicationStatement"}},
	{"390906007", "Follow-up encounter", []string{"Appointment"}},
	{"371525003", "Clinical procedure report", []string{"Procedure"}},
	{"306206005", "Referral to service", []string{"ServiceRequest"}},
	{"404684003", "Clinical finding", []string{"Observation"}},
	{"371530004", "Clinical consultation report", []string{"DocumentReference"}},
}

// compositionRule is a document's Composition type.
type compositionRule struct {
	profile, code, display string
}

var compositionRules = []compositionRule{
	{"OPConsultRecord", "371530004", "Clinical consultation report"},
	{"PrescriptionRecord", "440545006", "Prescription record"},
}

// resourceRules are the elements each entry's profile requires, as paths
// of JSON keys (a list is satisfied by any of its items).
var resourceRules = map[string][]string{
	"Patient":            {"identifier.type", "identifier.value"},
	"Practitioner":       {"identifier.type", "identifier.value"},
	"Organization":       {"identifier.type", "identifier.system", "identifier.value", "name"},
	"Encounter":          {"class.code", "period.start", "subject"},
	"Condition":          {"code", "subject"},
	"MedicationRequest":  {"medicationCodeableConcept", "subject", "authoredOn", "requester", "dosageInstruction"},
	"Appointment":        {"start", "participant"},
	"ServiceRequest":     {"requester", "subject"},
	"Binary":             {"contentType", "data"},
	"DocumentReference":  {"content.attachment.contentType", "content.attachment.data"},
	"Observation":        {"status", "code"},
	"AllergyIntolerance": {"patient", "code"},
	"Composition":        {"subject", "encounter", "author", "title", "date", "status", "type"},
}

// CheckProfile checks one bundle's JSON against the ABDM profile rules that
// the base R4 rules do not cover, and returns every problem found.
func CheckProfile(bundle []byte) []string {
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if b["resourceType"] != "Bundle" || b["type"] != "document" {
		add("Bundle.type is %v, want document", b["type"])
	}
	if !has(b, "identifier.system") || !has(b, "identifier.value") {
		add("Bundle.identifier needs system and value")
	}
	if !has(b, "timestamp") {
		add("Bundle.timestamp is required")
	}
	if !has(b, "meta.versionId") {
		add("Bundle: no meta.versionId")
	}
	if !profiled(b, "DocumentBundle") {
		add("Bundle: meta.profile is not DocumentBundle")
	}
	entries, _ := b["entry"].([]any)
	byURL := map[string]map[string]any{}
	var resources []map[string]any
	for i, e := range entries {
		em, _ := e.(map[string]any)
		r, _ := em["resource"].(map[string]any)
		if r == nil {
			add("entry %d has no resource", i)
			continue
		}
		url, _ := em["fullUrl"].(string)
		if url == "" {
			add("entry %d has no fullUrl", i)
		}
		byURL[url] = r
		resources = append(resources, r)
	}
	if len(resources) == 0 || resources[0]["resourceType"] != "Composition" {
		add("the Composition first: entry 0 is not a Composition")
		for _, r := range resources {
			if r["resourceType"] == "Composition" {
				resources = append([]map[string]any{r}, resources...)
				break
			}
		}
	}
	for _, r := range resources {
		typ, _ := r["resourceType"].(string)
		if !has(r, "meta.profile") {
			add("%s: no meta.profile", typ)
		}
		for _, path := range resourceRules[typ] {
			if !has(r, path) {
				add("%s.%s is required", typ, path)
			}
		}
		switch typ {
		case "Encounter":
			if c, _ := r["class"].(map[string]any); c["code"] != "VR" {
				add("Encounter.class is %v, want VR (virtual)", c["code"])
			}
		case "Condition":
			for _, c := range codings(r["code"]) {
				if (c["system"] != SNOMED && c["system"] != ICD10) || c["display"] == nil {
					add("Condition.code: a coding must be SNOMED or ICD-10 with a display, not %v", c["system"])
				}
			}
		case "MedicationRequest":
			for _, c := range codings(r["medicationCodeableConcept"]) {
				if c["system"] != SNOMED {
					add("MedicationRequest.medicationCodeableConcept: a coding must be SNOMED")
				}
			}
		}
		walkRefs(r, func(ref string) {
			if _, ok := byURL[ref]; !ok && strings.HasPrefix(ref, "urn:") {
				add("%s: unresolved reference %s", typ, ref)
			}
		})
	}
	if len(resources) > 0 && resources[0]["resourceType"] == "Composition" {
		problems = append(problems, checkComposition(resources[0], byURL)...)
	}
	return problems
}

func checkComposition(c map[string]any, byURL map[string]map[string]any) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var rule *compositionRule
	for i, r := range compositionRules {
		if profiled(c, r.profile) {
			rule = &compositionRules[i]
		}
	}
	if rule == nil {
		return []string{"Composition: meta.profile is neither OPConsultRecord nor PrescriptionRecord"}
	}
	if !hasCoding(c["type"], SNOMED, rule.code, rule.display) {
		add("Composition.type: want SNOMED %s with display %q", rule.code, rule.display)
	}
	sections, _ := c["section"].([]any)
	if len(sections) == 0 {
		add("Composition: at least one section")
	}
	if rule.profile == "PrescriptionRecord" && len(sections) != 1 {
		add("PrescriptionRecord: exactly one section, not %d", len(sections))
	}
	for _, s := range sections {
		sm, _ := s.(map[string]any)
		var allowed []string
		var code string
		if cs := codings(sm["code"]); len(cs) > 0 {
			code, _ = cs[0]["code"].(string)
		}
		if rule.profile == "PrescriptionRecord" {
			if !hasCoding(sm["code"], SNOMED, "440545006", "Prescription record") {
				add("PrescriptionRecord section code %s: want SNOMED 440545006 %q", code, "Prescription record")
			}
			allowed = []string{"MedicationRequest", "Binary"}
		} else {
			i := slices.IndexFunc(opConsultSections, func(r sectionRule) bool { return r.code == code })
			if i < 0 {
				add("OPConsultRecord: section code %s is not one of the profile's", code)
				continue
			}
			r := opConsultSections[i]
			if !hasCoding(sm["code"], SNOMED, r.code, r.display) {
				add("section %s: want SNOMED display %q", r.code, r.display)
			}
			allowed = r.entries
		}
		entries, _ := sm["entry"].([]any)
		if len(entries) == 0 {
			add("section %s has no entry", code)
		}
		binaries := 0
		for _, e := range entries {
			em, _ := e.(map[string]any)
			ref, _ := em["reference"].(string)
			target := byURL[ref]
			typ, _ := target["resourceType"].(string)
			if target != nil && !slices.Contains(allowed, typ) {
				add("section %s: %s not allowed", code, typ)
			}
			if rule.profile == "PrescriptionRecord" {
				if t, _ := em["type"].(string); t == "" {
					add("PrescriptionRecord: section entry without type (%s)", ref)
				} else if target != nil && t != typ {
					add("PrescriptionRecord: section entry type %s names a %s", t, typ)
				}
				if typ == "Binary" {
					binaries++
				}
			}
		}
		if binaries > 1 {
			add("PrescriptionRecord: at most one Binary")
		}
	}
	return problems
}

// has reports whether the JSON path has a non-empty value; a list is
// satisfied by any of its items.
func has(v any, path string) bool {
	if path == "" {
		switch x := v.(type) {
		case nil:
			return false
		case string:
			return x != ""
		case []any:
			return len(x) > 0
		case map[string]any:
			return len(x) > 0
		}
		return true
	}
	key, rest, _ := strings.Cut(path, ".")
	switch x := v.(type) {
	case map[string]any:
		return has(x[key], rest)
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return has(e, path) })
	}
	return false
}

func profiled(r map[string]any, profile string) bool {
	m, _ := r["meta"].(map[string]any)
	ps, _ := m["profile"].([]any)
	return slices.Contains(ps, any(ProfileBase+profile))
}

func codings(v any) []map[string]any {
	m, _ := v.(map[string]any)
	cs, _ := m["coding"].([]any)
	var out []map[string]any
	for _, c := range cs {
		if cm, ok := c.(map[string]any); ok {
			out = append(out, cm)
		}
	}
	return out
}

func hasCoding(v any, system, code, display string) bool {
	return slices.ContainsFunc(codings(v), func(c map[string]any) bool {
		return c["system"] == system && c["code"] == code && c["display"] == display
	})
}

// walkRefs calls f with every reference in v.
func walkRefs(v any, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				f(s)
				continue
			}
			walkRefs(e, f)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, f)
		}
	}
}
