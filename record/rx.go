package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Prescription is a signed prescription as the record keeps it: the exact
// bytes signed and their signature (the record does not read them), and
// the files rendered from them. Every version is kept; a correction names
// the version it replaces.
type Prescription struct {
	// ID names this version; Replaces the version it corrects, or "".
	ID           string `json:"id"`
	Consultation string `json:"consultation"`
	Version      int    `json:"version"`
	Replaces     string `json:"replaces,omitempty"`
	// Signed is when it was signed.
	Signed time.Time `json:"signed"`
	// SHA256 is the content's digest, in hex.
	SHA256 string `json:"sha256"`
	// Content is what was signed; Signature its Ed25519 signature by the
	// key KeyID names, PublicKey.
	Content   []byte `json:"content"`
	Signature []byte `json:"signature"`
	KeyID     string `json:"key_id"`
	PublicKey []byte `json:"public_key"`
	// PDF and PNG are where the rendered files are kept.
	PDF string `json:"pdf"`
	PNG string `json:"png"`
}

// ErrNoPrescription means no prescription has the id asked for.
var ErrNoPrescription = errors.New("record: no such prescription")

// AddPrescription keeps a signed prescription and its rendered files
// (recorded among the consultation's files too, kind "prescription"), and
// returns it with the files' paths once written: unlike the other writes
// it waits, since a prescription is sent only once kept.
func (s *Store) AddPrescription(ctx context.Context, p Prescription, pdf, png []byte) (Prescription, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return p, ErrClosed
	}
	stem := fmt.Sprintf("prescription-v%d", p.Version)
	pdfFile := File{Consultation: p.Consultation, At: p.Signed, Direction: Out, Kind: "prescription", Name: stem + ".pdf", MimeType: "application/pdf"}
	pngFile := File{Consultation: p.Consultation, At: p.Signed, Direction: Out, Kind: "prescription", Name: stem + ".png", MimeType: "image/png"}
	pdfFile = s.AddFile(pdfFile, pdf)
	pngFile = s.AddFile(pngFile, png)
	p.PDF, p.PNG = pdfFile.Path, pngFile.Path
	done := make(chan error, 1)
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO prescriptions (id, consultation_id, version, replaces, signed_ns, sha256, content, signature,
			key_id, public_key, pdf_path, png_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
			p.ID, p.Consultation, p.Version, p.Replaces, nanos(p.Signed), p.SHA256, p.Content, p.Signature, p.KeyID, p.PublicKey,
			p.PDF, p.PNG)
		if err == nil {
			err = touch(tx, p.Consultation, p.Signed)
		}
		done <- err
		return wrap("prescription", err)
	})
	select {
	case err := <-done:
		if err != nil {
			return p, wrap("prescription", err)
		}
		// done comes from inside the writer's transaction: wait for its
		// commit, so that a reader finds the prescription.
		s.Flush()
		return p, nil
	case <-ctx.Done():
		return p, ctx.Err()
	}
}

const prescriptionColumns = `id, consultation_id, version, replaces, signed_ns, sha256, content, signature, key_id, public_key, pdf_path, png_path`

func scanPrescription(r scanner) (Prescription, error) {
	var p Prescription
	var signed int64
	err := r.Scan(&p.ID, &p.Consultation, &p.Version, &p.Replaces, &signed, &p.SHA256, &p.Content, &p.Signature, &p.KeyID,
		&p.PublicKey, &p.PDF, &p.PNG)
	p.Signed = fromNanos(signed)
	return p, err
}

// Prescriptions returns a consultation's prescriptions, every version,
// oldest first.
func (s *Store) Prescriptions(ctx context.Context, consultation string) ([]Prescription, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+prescriptionColumns+` FROM prescriptions WHERE consultation_id = ?
		ORDER BY version, signed_ns`, consultation)
	if err != nil {
		return nil, fmt.Errorf("record: prescriptions: %w", err)
	}
	defer rows.Close()
	var out []Prescription
	for rows.Next() {
		p, err := scanPrescription(rows)
		if err != nil {
			return nil, fmt.Errorf("record: prescriptions: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record: prescriptions: %w", err)
	}
	return out, nil
}

// PrescriptionByID returns one prescription version, and the id of the
// version that replaced it ("" if none has).
func (s *Store) PrescriptionByID(ctx context.Context, id string) (p Prescription, replacedBy string, err error) {
	p, err = scanPrescription(s.db.QueryRowContext(ctx, `SELECT `+prescriptionColumns+` FROM prescriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, "", fmt.Errorf("%w: %s", ErrNoPrescription, id)
	}
	if err != nil {
		return p, "", fmt.Errorf("record: prescription: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT id FROM prescriptions WHERE replaces = ? ORDER BY version DESC LIMIT 1`, id).Scan(&replacedBy)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, "", fmt.Errorf("record: prescription: %w", err)
	}
	return p, replacedBy, nil
}

// SetStructuredNotes records the doctor's structured notes for a
// consultation (opaque to the record: JSON), replacing the earlier ones.
func (s *Store) SetStructuredNotes(id string, body []byte) {
	at := s.now()
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO structured_notes (consultation_id, body, updated_ns) VALUES (?,?,?)
			ON CONFLICT (consultation_id) DO UPDATE SET body = excluded.body, updated_ns = excluded.updated_ns`, id, string(body), nanos(at))
		if err == nil {
			err = touch(tx, id, at)
		}
		return wrap("structured notes", err)
	})
}

// StructuredNotes returns a consultation's structured notes, or nil.
func (s *Store) StructuredNotes(ctx context.Context, id string) ([]byte, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM structured_notes WHERE consultation_id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: structured notes: %w", err)
	}
	return []byte(body), nil
}
