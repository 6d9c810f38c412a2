// Package fhir writes a consultation as ABDM health records: FHIR R4
// document bundles following the NRCeS implementation guide for ABDM, an
// OPConsultRecord for the consultation and a PrescriptionRecord for its
// signed prescription (docs/prescription.md); Gather and Summarize read a
// consultation from the record for them and for the patient's copy. It
// imports the record and the prescription, and nothing else of the
// project's.
package fhir
