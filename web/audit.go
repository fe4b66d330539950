package web

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/settings"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	av "github.com/rolegate/rolegate/views/audit"
)

const auditPerPage = 50

// auditFilter reads the filters of the audit page and its exports.
type auditFilter struct {
	q                   store.AuditQuery
	person, org, action string
	from, to, target    string
	problems            map[string]string
	scopeOrgs           []int64
}

func (a *app) parseAuditFilter(c echo.Context, loc *time.Location) (auditFilter, error) {
	u, _ := currentUser(c)
	f := auditFilter{problems: map[string]string{}, scopeOrgs: audit.Scope(a.Access.Now(), u.ID)}
	f.q.OrgIDs = f.scopeOrgs
	snap := a.Access.Now()
	if raw := strings.TrimSpace(c.QueryParam("person")); raw != "" {
		email, msg := valid.Email(raw)
		if msg == "" {
			// An address nobody has is answered like anyone's whose entries lie outside
			// what the reader may see: no entries, the same page. The filter never says
			// whether an account exists.
			p, err := a.Store.UserByEmail(c.Request().Context(), email)
			switch {
			case err == nil:
				f.q.PersonID = p.ID
			case errors.Is(err, store.ErrNotFound):
				f.q.PersonID = -1
			default:
				return f, err
			}
		}
		if msg != "" {
			f.problems["person"] = msg
		}
		f.person, _ = valid.Text(raw, false, valid.MaxEmail)
	}
	if raw := c.QueryParam("org"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return f, store.ErrNotFound
		}
		if f.q.OrgIDs, err = audit.Within(snap, u.ID, id); err != nil {
			return f, err
		}
		f.org = raw
	}
	f.action = oneOf(c.QueryParam("action"), audit.Actions...)
	f.q.Action = f.action
	day := func(name string) int64 {
		raw := c.QueryParam(name)
		if raw == "" {
			return 0
		}
		t, err := time.ParseInLocation(time.DateOnly, raw, loc) // a day of the portal's time zone
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			f.problems[name] = "Give the date as YYYY-MM-DD. "
			return 0
		}
		if name == "from" {
			f.from = raw
			return t.Unix()
		}
		f.to = raw
		return t.AddDate(0, 0, 1).Unix() - 1 // the whole day, however long it is
	}
	f.q.From, f.q.To = day("from"), day("to")
	if kind, id, ok := strings.Cut(c.QueryParam("target"), ":"); ok && (kind == "role" || kind == "organisation") {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			f.target = c.QueryParam("target")
			if kind == "role" {
				f.q.RoleID = n // the role and who was given it or lost it, as its History shows
			} else {
				f.q.TargetType, f.q.TargetID = kind, n
			}
		}
	}
	return f, nil
}

// values is the filter as a query string, for links and exports.
func (f auditFilter) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"person": f.person, "org": f.org, "action": f.action, "from": f.from, "to": f.to, "target": f.target} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// auditWords is what the pages need to word entries: the catalog's labels and the portal's
// time zone.
func (a *app) auditWords(c echo.Context) (audit.Describer, settings.Zone, error) {
	z, err := a.settingsService().TimeZone(c.Request().Context())
	return audit.Describer{Label: a.Access.Now().Catalog().Label, Loc: z.Loc}, z, err
}

func (a *app) settingsService() *settings.Service { return &settings.Service{Store: a.Store} }

// auditRows words entries (newest first) as rows, one per change (see audit.Group).
func auditRows(d audit.Describer, loc *time.Location, groups [][]audit.Entry) []av.Row {
	kinds := map[audit.ChangeKind]string{audit.Added: "added", audit.Removed: "removed", audit.Changed: "changed", audit.Detail: "detail"}
	var out []av.Row
	for _, g := range groups {
		e := g[0]
		s := d.Describe(g...)
		who := e.ActorName
		if who == "" {
			who = "Nobody signed in"
		}
		r := av.Row{ID: e.ID, Label: audit.ActionLabel(e.Action), When: audit.FormatTime(e.At, loc),
			WhenUTC: time.Unix(e.At, 0).UTC().Format(time.RFC3339), Who: who, Client: e.Client, Sentence: s.Sentence}
		var actions, orgs []string
		for _, x := range g {
			if !slices.Contains(actions, x.Action) {
				actions = append(actions, x.Action)
			}
			if x.OrgName != "" && !slices.Contains(orgs, x.OrgName) {
				orgs = append(orgs, x.OrgName)
			}
			r.Raw = append(r.Raw, av.RawEntry{ID: x.ID, Action: x.Action, At: time.Unix(x.At, 0).UTC().Format(time.RFC3339),
				Before: audit.RawJSON(x.Before), After: audit.RawJSON(x.After)})
		}
		if len(actions) > 1 {
			r.Label = "Role changed into another"
		}
		r.Actions, r.Org = strings.Join(actions, " "), strings.Join(orgs, ", ")
		for _, ch := range s.Changes {
			r.Changes = append(r.Changes, av.Change{Kind: kinds[ch.Kind], Label: ch.Label, From: ch.From, To: ch.To})
		}
		out = append(out, r)
	}
	return out
}

// pageOfGroups takes whole groups until perPage entries are shown, so a change recorded as
// two entries is never cut in two by the page's end; it says whether entries are left over.
func pageOfGroups(groups [][]audit.Entry, perPage int) ([][]audit.Entry, bool) {
	n := 0
	for i, g := range groups {
		if n >= perPage {
			return groups[:i], true
		}
		n += len(g)
	}
	return groups, false
}

// auditPage is the audit log, filtered; htmx gets only the table.
func (a *app) auditPage(c echo.Context) error {
	words, zone, err := a.auditWords(c)
	if err != nil {
		return err
	}
	f, err := a.parseAuditFilter(c, zone.Loc)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(f.problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	var rows []audit.Entry
	if len(f.problems) == 0 {
		q := f.q
		q.Limit = auditPerPage + 2 // a change of two entries at the end of the page stays whole
		if b, err := strconv.ParseInt(c.QueryParam("before"), 10, 64); err == nil && b > 0 {
			q.BeforeID = b
		}
		if rows, err = a.Store.ListAudit(c.Request().Context(), q); err != nil {
			return err
		}
	}
	vals := f.values()
	t := av.TableView{CSVURL: withQuery("/audit.csv", vals), JSONURL: withQuery("/audit.json", vals), Filtered: len(vals) > 0, Zone: zone.Label()}
	groups, more := pageOfGroups(audit.Group(rows), auditPerPage)
	if more {
		last := groups[len(groups)-1]
		older := f.values()
		older.Set("before", strconv.FormatInt(last[len(last)-1].ID, 10))
		t.OlderURL = withQuery("/audit", older)
	}
	if c.QueryParam("before") != "" {
		t.NewestURL = withQuery("/audit", vals)
	}
	t.Rows = auditRows(words, zone.Loc, groups)
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "audit-table" && len(f.problems) == 0 {
		return a.renderStatus(c, status, av.Table(t))
	}
	v := av.PageView{Page: a.page(c, "Audit log"), Person: f.person, From: f.from, To: f.to, Problems: f.problems, Table: t}
	snap := a.Access.Now()
	orgs := f.scopeOrgs
	if orgs == nil {
		orgs = snap.AllOrgs()
	}
	for _, id := range orgs {
		o, _ := snap.Org(id)
		v.Orgs = append(v.Orgs, av.Option{Value: strconv.FormatInt(id, 10), Label: o.Name, Selected: strconv.FormatInt(id, 10) == f.org})
	}
	for _, act := range audit.Actions {
		v.Actions = append(v.Actions, av.Option{Value: act, Label: audit.ActionLabel(act), Selected: act == f.action})
	}
	if isHTMX(c) {
		// A filter problem: the whole page, so the message shows beside its field.
		h := c.Response().Header()
		h.Set("HX-Retarget", "#main")
		h.Set("HX-Reswap", "outerHTML")
		h.Set("HX-Reselect", "#main")
	}
	return a.renderStatus(c, status, av.Page(v))
}

// utf8BOM starts the CSV, so that Excel reads it as UTF-8 ("María", not "MarÃ­a").
const utf8BOM = "\ufeff"

// auditExport streams the filtered log as CSV or JSON, newest first like the page, every entry
// as stored with its summary in words.
func (a *app) auditExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		words, zone, err := a.auditWords(c)
		if err != nil {
			return err
		}
		f, err := a.parseAuditFilter(c, zone.Loc)
		if err != nil {
			return err
		}
		f.q.NewestFirst = true
		if len(f.problems) > 0 {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "bad filter")
		}
		name := "rolegate-audit-" + a.Store.Now().UTC().Format("2006-01-02")
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		ctx := c.Request().Context()
		if format == "csv" {
			h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
			h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
			c.Response().WriteHeader(http.StatusOK)
			_, _ = c.Response().Write([]byte(utf8BOM))
			w := csv.NewWriter(c.Response())
			_ = w.Write([]string{"id", "at", "actor_id", "actor", "org_id", "organisation", "action", "target_type", "target_id", "target", "before", "after", "client", "hash", "summary"})
			err := a.Store.EachAudit(ctx, f.q, func(e audit.Entry) error {
				return w.Write([]string{strconv.FormatInt(e.ID, 10), time.Unix(e.At, 0).UTC().Format(time.RFC3339), strconv.FormatInt(e.ActorID, 10),
					csvSafe(e.ActorName), strconv.FormatInt(e.OrgID, 10), csvSafe(e.OrgName), e.Action, e.TargetType, strconv.FormatInt(e.TargetID, 10),
					csvSafe(e.TargetName), csvSafe(string(e.Before)), csvSafe(string(e.After)), csvSafe(e.Client), hex.EncodeToString(e.Hash),
					csvSafe(words.Describe(e).Text())})
			})
			w.Flush()
			return errors.Join(err, w.Error())
		}
		h.Set(echo.HeaderContentType, "application/json")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`.json"`)
		c.Response().WriteHeader(http.StatusOK)
		enc := json.NewEncoder(c.Response())
		first := true
		_, _ = c.Response().Write([]byte("[\n"))
		err = a.Store.EachAudit(ctx, f.q, func(e audit.Entry) error {
			if !first {
				if _, err := c.Response().Write([]byte(",")); err != nil {
					return err
				}
			}
			first = false
			return enc.Encode(exportOf(e, words))
		})
		_, _ = c.Response().Write([]byte("]\n"))
		return err
	}
}

// exportOf is e as the JSON export and the API give it.
func exportOf(e audit.Entry, words audit.Describer) exportEntry {
	return exportEntry{ID: e.ID, At: time.Unix(e.At, 0).UTC().Format(time.RFC3339), ActorID: e.ActorID, Actor: e.ActorName,
		OrgID: e.OrgID, Org: e.OrgName, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Target: e.TargetName,
		Before: e.Before, After: e.After, Client: e.Client, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
		Summary: words.Describe(e).Text()}
}

// exportEntry is one entry of the JSON export.
type exportEntry struct {
	ID         int64           `json:"id"`
	At         string          `json:"at"`
	ActorID    int64           `json:"actor_id"`
	Actor      string          `json:"actor"`
	OrgID      int64           `json:"org_id"`
	Org        string          `json:"organisation"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   int64           `json:"target_id"`
	Target     string          `json:"target"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	Client     string          `json:"client"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
	Summary    string          `json:"summary"` // the entry in words, as the page says it
}

// history is the History panel for entries about one role or person, for those who may read
// the audit log of orgID; nil otherwise.
func (a *app) history(c echo.Context, orgID int64, q store.AuditQuery, allURL string) (*av.HistoryView, error) {
	u, _ := currentUser(c)
	snap := a.Access.Now()
	if !audit.Readable(snap, u.ID, orgID) {
		return nil, nil
	}
	q.OrgIDs = audit.Scope(snap, u.ID)
	q.Limit = 20
	rows, err := a.Store.ListAudit(c.Request().Context(), q)
	if err != nil {
		return nil, err
	}
	words, zone, err := a.auditWords(c)
	if err != nil {
		return nil, err
	}
	return &av.HistoryView{AllURL: allURL, Zone: zone.Label(), Rows: auditRows(words, zone.Loc, audit.Group(rows))}, nil
}
