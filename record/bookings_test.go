package record

import (
	"testing"

	"teleconsole/booking"
	"teleconsole/booking/storetest"
)

func TestBookingsStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) booking.Store {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s.Bookings()
	})
}
