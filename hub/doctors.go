package hub

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Doctor is one of the hospital's doctors as the hub knows them: the HPR
// address their patients write to, and the NATS user their console logs in
// as (docs/hub.md, "Adding a doctor").
type Doctor struct {
	// Address is the doctor's HPR address.
	Address string
	// User and Password are the console's NATS credentials; an embedded
	// NATS server makes a user of them. Password may be a bcrypt hash
	// ("$2a$..."), as nats-server accepts. Both are empty when the NATS
	// cluster is the operator's and has its own users.
	User, Password string
}

// LoadDoctors reads a doctors file (see ParseDoctors).
func LoadDoctors(path string) ([]Doctor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDoctors, err)
	}
	defer f.Close()
	d, err := ParseDoctors(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ParseDoctors reads one doctor a line: the HPR address, then optionally
// the NATS user and password, separated by blanks. Blank lines and lines
// starting with # are skipped. An address given twice is an error: two
// users for one subject would be one too many.
func ParseDoctors(r io.Reader) ([]Doctor, error) {
	var out []Doctor
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 1 && len(f) != 3 {
			return nil, fmt.Errorf("%w: line %d: want ADDRESS [USER PASSWORD], got %d fields", ErrBadDoctors, n, len(f))
		}
		d := Doctor{Address: strings.ToLower(f[0])}
		if len(f) == 3 {
			d.User, d.Password = f[1], f[2]
		}
		if first, dup := seen[d.Address]; dup {
			return nil, fmt.Errorf("%w: line %d: %s already on line %d", ErrBadDoctors, n, d.Address, first)
		}
		seen[d.Address] = n
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDoctors, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no doctor in it", ErrBadDoctors)
	}
	return out, nil
}
