package apps

import (
	"errors"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rolegate/rolegate/internal/store"
)

// MaxPathLen bounds a configured path prefix or public path.
const MaxPathLen = 500

// ErrBadRequest is a forward-auth question that cannot be read: a header missing or not a URL
// (the proxy is set up wrong).
var ErrBadRequest = errors.New("apps: unreadable forward-auth request")

// ErrBadPath is a requested path Rolegate refuses to match: dot segments, an encoded slash or
// backslash, a control character or a broken percent-escape. A browser never sends one; they
// are how a path is made to look like one rule to Rolegate and another to the tool behind it.
var ErrBadPath = errors.New("apps: path refused")

// NormaliseHost reads a configured host: lower-case, without a trailing dot, an optional
// ":port" (1–65535). The message says what is wrong, "" when nothing.
func NormaliseHost(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "Give the host people use, e.g. wiki.clinic.example."
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ ") {
		return "", "Give the host alone (e.g. wiki.clinic.example or wiki.clinic.example:8443), without http:// or a path."
	}
	name, port, err := splitHost(s)
	if err != nil {
		return "", err.Error()
	}
	return joinHost(name, port), ""
}

type hostError string

func (e hostError) Error() string { return string(e) }

// splitHost parses "name[:port]" ("[v6][:port]" for IPv6), lower-casing the name.
func splitHost(s string) (string, int, error) {
	name, portS := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, hostError("The IPv6 address needs its closing bracket.")
		}
		name, portS = s[1:end], s[end+1:]
		if portS != "" && !strings.HasPrefix(portS, ":") {
			return "", 0, hostError("Only a :port may follow the address.")
		}
		portS = strings.TrimPrefix(portS, ":")
		if ip := net.ParseIP(name); ip == nil || ip.To4() != nil {
			return "", 0, hostError("That is not an IPv6 address.")
		}
		name = "[" + strings.ToLower(name) + "]"
	} else {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			name, portS = s[:i], s[i+1:]
			if portS == "" {
				return "", 0, hostError("Give a port after the colon, or no colon.")
			}
		}
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		if !validName(name) {
			return "", 0, hostError("That is not a host name: letters, digits and hyphens between dots, e.g. wiki.clinic.example.")
		}
	}
	port := 0
	if portS != "" {
		p, err := strconv.Atoi(portS)
		if err != nil || p < 1 || p > 65535 || portS[0] == '0' || strings.ContainsAny(portS, "+-") {
			return "", 0, hostError("The port must be a number from 1 to 65535.")
		}
		port = p
	}
	return name, port, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

func joinHost(name string, port int) string {
	if port == 0 {
		return name
	}
	return name + ":" + strconv.Itoa(port)
}

// NormalisePrefix reads a configured path prefix or public path: "" is "/"; it starts with a
// slash; percent-escapes are decoded (an encoded slash or backslash is refused); no "." or
// ".." segments, query, fragment or control characters; repeated slashes become one and a
// trailing slash is dropped ("/wiki/" is "/wiki", which matches /wiki and everything under
// it, never /wikipedia). Case is kept: paths are case-sensitive.
func NormalisePrefix(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "/", ""
	}
	if !strings.HasPrefix(s, "/") {
		return "", "Start the path with a slash, e.g. /reports."
	}
	if strings.ContainsAny(s, "?#") {
		return "", "Give a path only, without ? or #."
	}
	if len(s) > MaxPathLen {
		return "", "Keep the path under 500 characters."
	}
	p, err := cleanPath(s)
	if err != nil {
		return "", "The path may not contain . or .. segments, an encoded slash or backslash, control characters or a broken %-escape."
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p, ""
}

// cleanPath decodes an escaped path once and checks it (ErrBadPath); repeated slashes become one.
func cleanPath(raw string) (string, error) {
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.ContainsRune(raw, '\\') {
		return "", ErrBadPath
	}
	p, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(p) || !strings.HasPrefix(p, "/") {
		return "", ErrBadPath
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", ErrBadPath
		}
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return "", ErrBadPath
		}
	}
	return p, nil
}

// under reports whether path is prefix or below it, on a segment boundary.
func under(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return path == prefix || (strings.HasPrefix(path, prefix) && path[len(prefix)] == '/')
}

// Request is one forward-auth question, as the proxy asked it.
type Request struct {
	Scheme string // http or https
	Host   string // lower-case name, no port
	Port   int    // as given, else the scheme's default
	Path   string // decoded and checked; "" when the path was refused (Err says why)
	Method string
	// URL is the original address, for the sign-in page to come back to.
	URL string
	// PathErr is ErrBadPath when the path was refused.
	PathErr error
}

// ParseOriginalURL reads nginx's question: X-Original-URL (scheme://host[:port]/path?query)
// and X-Original-Method.
func ParseOriginalURL(raw, method string) (Request, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Request{}, ErrBadRequest
	}
	i := strings.IndexAny(rest, "/?#")
	host, uri := rest, "/"
	if i >= 0 {
		host, uri = rest[:i], rest[i:]
	}
	return parse(scheme, host, uri, method)
}

// ParseForwarded reads the question of Traefik and Caddy: X-Forwarded-Proto, -Host, -Uri and
// -Method.
func ParseForwarded(proto, host, uri, method string) (Request, error) {
	return parse(proto, host, uri, method)
}

func parse(scheme, host, uri, method string) (Request, error) {
	scheme = strings.ToLower(strings.TrimSpace(scheme))
	if scheme != "http" && scheme != "https" {
		return Request{}, ErrBadRequest
	}
	host = strings.TrimSpace(host)
	if host == "" || strings.ContainsAny(host, "@,/ \t") || len(host) > 300 {
		return Request{}, ErrBadRequest
	}
	name, port, err := splitHost(host)
	if err != nil {
		return Request{}, ErrBadRequest
	}
	if port == 0 {
		port = 80
		if scheme == "https" {
			port = 443
		}
	}
	if uri == "" || uri[0] != '/' || len(uri) > 8192 || strings.ContainsAny(uri, "\r\n") {
		return Request{}, ErrBadRequest
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		method = "GET"
	}
	for _, r := range method {
		if r < 'A' || r > 'Z' || len(method) > 20 {
			return Request{}, ErrBadRequest
		}
	}
	r := Request{Scheme: scheme, Host: name, Port: port, Method: method, URL: scheme + "://" + strings.ToLower(host) + uri}
	pathPart := uri
	if j := strings.IndexAny(pathPart, "?#"); j >= 0 {
		pathPart = pathPart[:j]
	}
	r.Path, r.PathErr = cleanPath(pathPart)
	if r.PathErr != nil {
		r.Path = ""
	}
	return r, nil
}

// Rules are the protected applications compiled for matching.
type Rules struct {
	byHost map[string][]rule // by host name without port; each sorted longest prefix first
}

type rule struct {
	app  store.App
	port int // 0: any port
}

// Compile builds the matcher from every stored application.
func Compile(list []store.App) *Rules {
	r := &Rules{byHost: map[string][]rule{}}
	for _, a := range list {
		name, port, err := splitHost(a.Host)
		if err != nil {
			continue // not valid as stored: never matches (deny)
		}
		r.byHost[name] = append(r.byHost[name], rule{app: a, port: port})
	}
	for _, l := range r.byHost {
		sort.SliceStable(l, func(i, j int) bool {
			if len(l[i].app.PathPrefix) != len(l[j].app.PathPrefix) {
				return len(l[i].app.PathPrefix) > len(l[j].app.PathPrefix)
			}
			return l[i].port != 0 && l[j].port == 0 // port-specific first
		})
	}
	return r
}

// Match is which application rule a request falls under.
type Match struct {
	Found bool // false: no application names the host (or none of its prefixes): deny
	App   store.App
	// Public: the path is one of the application's public paths (and the app is enabled).
	Public bool
}

// Match picks the rule for host, port and a checked path: among the rules naming the host (for
// any port, or for this port), the longest path prefix the path is under; at equal length a
// rule for this port beats one for any port. A disabled rule still wins the match (and so
// denies): disabling an application never opens it to a shorter, broader rule.
func (r *Rules) Match(host string, port int, path string) Match {
	for _, ru := range r.byHost[host] {
		a := ru.app
		if (ru.port != 0 && ru.port != port) || !under(path, a.PathPrefix) {
			continue
		}
		m := Match{Found: true, App: a}
		if a.Enabled {
			for _, pub := range a.PublicPaths {
				if under(path, pub) {
					m.Public = true
				}
			}
		}
		return m
	}
	return Match{}
}

// Hosts lists the host names (no port) some application names, for the sign-in redirect's
// allow-list.
func (r *Rules) Hosts() []string {
	out := make([]string, 0, len(r.byHost))
	for h := range r.byHost {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}
