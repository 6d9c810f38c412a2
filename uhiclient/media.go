package uhiclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"path"
	"strings"
	"time"
)

// Media limits (docs/protocol.md §7).
const (
	// DefaultMaxMedia is the largest attachment taken or sent: 5 MB, the
	// reference apps' own limit on a picked file.
	DefaultMaxMedia = 5 << 20
	// MediaFetchTimeout bounds fetching a content_url.
	MediaFetchTimeout = 20 * time.Second
	// MediaBodyLimit is the body size a server needs to take an attachment
	// of DefaultMaxMedia (as base64, 4/3 of it) with the usual envelope and
	// photo beside it.
	MediaBodyLimit = DefaultMaxBody + DefaultMaxMedia/3*4 + 4
)

// MediaSize is the decoded size of a base64 content_value, without
// decoding it.
func MediaSize(value string) int {
	v := strings.TrimRight(stripDataURL(strings.TrimSpace(value)), "=")
	return len(v) * 3 / 4
}

// MediaBytes decodes an attachment's content_value: standard or URL-safe
// base64, padded or not, or a data: URL with a base64 payload.
func MediaBytes(value string) ([]byte, error) {
	v := strings.TrimRight(stripDataURL(strings.TrimSpace(value)), "=")
	v = strings.NewReplacer("\r", "", "\n", "").Replace(v)
	enc := base64.RawStdEncoding
	if strings.ContainsAny(v, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: content_value is not base64: %v", ErrBadMedia, err)
	}
	return b, nil
}

func stripDataURL(v string) string {
	if strings.HasPrefix(v, "data:") {
		if i := strings.Index(v, ";base64,"); i >= 0 {
			return v[i+len(";base64,"):]
		}
	}
	return v
}

// MediaType is an attachment's MIME type: the one the sender gave, else
// the one of the file name's extension, else what the bytes look like.
func MediaType(given, name string, data []byte) string {
	if t, _, err := mime.ParseMediaType(given); err == nil && strings.Contains(t, "/") {
		return t
	}
	switch strings.ToLower(path.Ext(name)) {
	// The types the reference apps send, whatever the system's mime table says.
	case ".pdf":
		return "application/pdf"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		t, _, _ = mime.ParseMediaType(t)
		return t
	}
	t, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	return t
}

// FetchMedia gets an attachment's content_url with client (made by
// FetchPolicy.Client), within MediaFetchTimeout and at most limit bytes: a
// larger one is ErrMediaTooLarge. One the policy refuses, where the URL
// leads or where one of its redirects does, is a *RefusedError that says
// why, with the URL refused.
func FetchMedia(ctx context.Context, client *http.Client, url string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, MediaFetchTimeout)
	defer cancel()
	if _, err := parsePeerURI(url); err != nil {
		return nil, fmt.Errorf("%w: content_url: %v", ErrBadMedia, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: content_url: %v", ErrBadMedia, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) {
			at := url
			if ue := (*neturl.Error)(nil); errors.As(err, &ue) {
				at = ue.URL
			}
			return nil, fmt.Errorf("%s: %w", at, refused)
		}
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes at %s", ErrMediaTooLarge, resp.ContentLength, url)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes at %s", ErrMediaTooLarge, limit, url)
	}
	return b, nil
}
