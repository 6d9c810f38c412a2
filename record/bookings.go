package record

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"teleconsole/booking"
)

// Bookings is the doctor's appointments kept in the record: a
// booking.Store on the record's database. Each claim and each order write
// is one SQL statement, whose condition SQLite checks and applies at once,
// so one slot goes to one order however the writes interleave. Unlike the
// consultations' writes these are not queued: a booking's answer waits
// for them.
func (s *Store) Bookings() booking.Store { return bookings{s.db} }

type bookings struct{ db *sql.DB }

func (b bookings) Claim(ctx context.Context, slotID, orderID string, until, now time.Time) error {
	res, err := b.db.ExecContext(ctx, `INSERT INTO booking_claims (slot_id, order_id, until_ns) VALUES (?1, ?2, ?3)
		ON CONFLICT (slot_id) DO UPDATE SET order_id = excluded.order_id, until_ns = excluded.until_ns
		WHERE booking_claims.order_id = excluded.order_id
		   OR (booking_claims.until_ns <> 0 AND booking_claims.until_ns <= ?4)`,
		slotID, orderID, until.UnixNano(), now.UnixNano())
	return affected(res, err, "claim slot", booking.ErrSlotTaken)
}

func (b bookings) Keep(ctx context.Context, slotID, orderID string) error {
	res, err := b.db.ExecContext(ctx, `UPDATE booking_claims SET until_ns = 0 WHERE slot_id = ? AND order_id = ?`, slotID, orderID)
	return affected(res, err, "keep slot", booking.ErrSlotTaken)
}

func (b bookings) Release(ctx context.Context, slotID, orderID string) error {
	if _, err := b.db.ExecContext(ctx, `DELETE FROM booking_claims WHERE slot_id = ? AND order_id = ?`, slotID, orderID); err != nil {
		return fmt.Errorf("record: release slot: %w", err)
	}
	return nil
}

func (b bookings) PutOrder(ctx context.Context, o booking.Order) (uint64, error) {
	body, err := json.Marshal(o)
	if err != nil {
		return 0, fmt.Errorf("record: order: %w", err)
	}
	if o.Revision == 0 {
		res, err := b.db.ExecContext(ctx, `INSERT INTO booking_orders (id, doctor, transaction_id, start_ns, created_ns, rev, body)
			VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
			o.ID, o.Doctor, o.TransactionID, o.Start.UnixNano(), o.Created.UnixNano(), string(body))
		return 1, affected(res, err, "new order", booking.ErrConflict)
	}
	res, err := b.db.ExecContext(ctx, `UPDATE booking_orders SET rev = rev + 1, body = ?, start_ns = ?, transaction_id = ?
		WHERE id = ? AND rev = ?`, string(body), o.Start.UnixNano(), o.TransactionID, o.ID, int64(o.Revision))
	return o.Revision + 1, affected(res, err, "order", booking.ErrConflict)
}

// affected turns a conditional write's outcome into an error: refused
// when it changed no row.
func affected(res sql.Result, err error, what string, refused error) error {
	if err != nil {
		return fmt.Errorf("record: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("record: %s: %w", what, err)
	}
	if n == 0 {
		return refused
	}
	return nil
}

func (b bookings) Order(ctx context.Context, id string) (booking.Order, error) {
	return scanOrder(b.db.QueryRowContext(ctx, `SELECT rev, body FROM booking_orders WHERE id = ?`, id))
}

func (b bookings) OrderByTransaction(ctx context.Context, doctor, txn string) (booking.Order, error) {
	return scanOrder(b.db.QueryRowContext(ctx, `SELECT rev, body FROM booking_orders
		WHERE doctor = ? AND transaction_id = ? ORDER BY created_ns DESC LIMIT 1`, doctor, txn))
}

func (b bookings) Orders(ctx context.Context, doctor string, from, to time.Time) ([]booking.Order, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT rev, body FROM booking_orders
		WHERE doctor = ? AND start_ns >= ? AND start_ns < ? ORDER BY start_ns`, doctor, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("record: orders: %w", err)
	}
	defer rows.Close()
	var out []booking.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func scanOrder(row interface{ Scan(...any) error }) (booking.Order, error) {
	var rev int64
	var body string
	if err := row.Scan(&rev, &body); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return booking.Order{}, booking.ErrNoOrder
		}
		return booking.Order{}, fmt.Errorf("record: order: %w", err)
	}
	var o booking.Order
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return booking.Order{}, fmt.Errorf("record: order: %w", err)
	}
	o.Revision = uint64(rev)
	return o, nil
}
