package rx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ProfileFile is the doctor's profile's name in the data directory.
const ProfileFile = "profile.json"

// Profile is the doctor as their prescriptions and health records name
// them: set once (teleconsole profile), used on every prescription.
type Profile struct {
	// Name is the doctor's name as they write it.
	Name string `json:"name"`
	// Qualifications are their degrees ("MBBS, MD (Medicine)").
	Qualifications string `json:"qualifications"`
	// Council is the medical council that registered them ("Karnataka
	// Medical Council", "NMC"); Registration is their number there.
	Council      string `json:"council"`
	Registration string `json:"registration"`
	// HPRID is their Healthcare Professionals Registry id.
	HPRID string `json:"hpr_id"`
	// Clinic, Address and Phone are where the patient reaches them.
	Clinic  string `json:"clinic"`
	Address string `json:"address"`
	Phone   string `json:"phone"`
	// FacilityID is the clinic's Health Facility Registry id, which is
	// also its HIP id for ABDM.
	FacilityID string `json:"facility_id"`
	// SignatureImage is a PNG of the doctor's signature, if they want it
	// on the prescription (a path).
	SignatureImage string `json:"signature_image,omitempty"`
}

// ProfileField is one field of the profile, as teleconsole profile sets it.
type ProfileField struct {
	// Flag is its name on the command line; Label what the doctor reads.
	Flag, Label string
	// Required says a prescription cannot be signed without it.
	Required bool
	// Value points into a Profile.
	Value func(*Profile) *string
}

// ProfileFields are the profile's fields, in the order shown.
func ProfileFields() []ProfileField {
	return []ProfileField{
		{"name", "name", true, func(p *Profile) *string { return &p.Name }},
		{"qualifications", "qualifications", true, func(p *Profile) *string { return &p.Qualifications }},
		{"council", "medical council", true, func(p *Profile) *string { return &p.Council }},
		{"registration", "registration number", true, func(p *Profile) *string { return &p.Registration }},
		{"hpr-id", "HPR id", false, func(p *Profile) *string { return &p.HPRID }},
		{"clinic", "clinic", false, func(p *Profile) *string { return &p.Clinic }},
		{"address", "address", true, func(p *Profile) *string { return &p.Address }},
		{"phone", "phone", true, func(p *Profile) *string { return &p.Phone }},
		{"facility-id", "HFR (HIP) id", false, func(p *Profile) *string { return &p.FacilityID }},
		{"signature-image", "signature image", false, func(p *Profile) *string { return &p.SignatureImage }},
	}
}

// Missing names the fields a prescription needs that the profile lacks
// (the guideline's: name, qualifications, council and registration
// number, address and contact), in the order shown.
func (p Profile) Missing() []string {
	var out []string
	for _, f := range ProfileFields() {
		if f.Required && strings.TrimSpace(*f.Value(&p)) == "" {
			out = append(out, f.Label)
		}
	}
	return out
}

// ErrIncompleteProfile means the profile lacks what a prescription must
// carry.
var ErrIncompleteProfile = errors.New("the doctor's profile is incomplete")

// CheckComplete returns nil, or an error naming every missing field and
// how to set them.
func (p Profile) CheckComplete() error {
	m := p.Missing()
	if len(m) == 0 {
		return nil
	}
	return fmt.Errorf("%w: no %s (set with teleconsole profile)", ErrIncompleteProfile, strings.Join(m, ", no "))
}

// LoadProfile reads the profile at path; a missing file is an empty
// profile.
func LoadProfile(path string) (Profile, error) {
	var p Profile
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// SaveProfile writes the profile at path, readable by the user alone,
// replacing the old one whole (a crash leaves one or the other).
func SaveProfile(path string, p Profile) error {
	for _, f := range ProfileFields() {
		v := f.Value(&p)
		*v = strings.TrimSpace(*v)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".profile-*")
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("profile: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}
