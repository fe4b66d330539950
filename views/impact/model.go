// Package impact shows the impact preview of an access change (PRODUCT.md §2.12): who gains
// and who loses which permission, before anything is saved.
package impact

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// View is one preview inside a form.
type View struct {
	ID string // the region's id: "impact" unless a page has two

	// Endpoint, when set, is where the form is posted to refresh the preview as it changes
	// (htmx); without JavaScript the preview comes back with the first save instead.
	Endpoint string
	Shown    bool // worked out for the form's values (false: nothing changed yet)
	Lines    []Line
	People   int    // distinct people who gain or lose anything
	Digest   string // sent back with the save: what the person read
	// Held: a save was held back because the person had not read this preview.
	Held bool
}

// Line is one permission gained or lost by some people.
type Line struct {
	Gain   bool
	Label  string
	Count  int // everyone, those not named included
	Named  []Person
	More   []Person // named in the expandable list
	Rest   int      // beyond even that list
	Hidden int      // people the reader may not see: counted, never named
}

// Person is someone a line names, and where when that is not the change's organisation.
type Person struct{ Name, Where string }

// names lists people as "Ana Ruiz, Ben Ode (Eastside)", each name in its own <bdi> so a
// name in any script keeps its order without reordering the commas around it. It is one
// component so that no markup whitespace falls between a name and its comma; every name is
// escaped by templ.EscapeString. rest counts the people left unnamed after them.
func names(ps []Person, rest int) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		for i, p := range ps {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("<bdi>" + templ.EscapeString(p.Name) + "</bdi>")
			if p.Where != "" {
				b.WriteString(` <span class="impact-where">(<bdi>` + templ.EscapeString(p.Where) + "</bdi>)</span>")
			}
		}
		if rest > 0 {
			b.WriteString(", and " + strconv.Itoa(rest) + " others")
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// Verb is what the line's people do.
func (l Line) Verb() string {
	if l.Gain {
		return "gain"
	}
	return "lose"
}

// Heading is "4 people gain Export patient data".
func (l Line) Heading() string {
	who := strconv.Itoa(l.Count) + " people "
	if l.Count == 1 {
		who = "1 person "
	}
	verb := l.Verb()
	if l.Count == 1 {
		verb += "s"
	}
	return who + verb + " " + l.Label
}

// Summary is the line above the list.
func (v View) Summary() string {
	switch {
	case !v.Shown:
		return "Change the form to see who would gain or lose access."
	case len(v.Lines) == 0:
		return "Nobody gains or loses a permission with this change."
	case v.People == 1:
		return "This change gives or takes access of 1 person:"
	}
	return "This change gives or takes access of " + strconv.Itoa(v.People) + " people:"
}

func itoa(n int) string { return strconv.Itoa(n) }

func hiddenText(n int) string {
	if n == 1 {
		return "1 of them is someone you cannot see"
	}
	return strconv.Itoa(n) + " of them are people you cannot see"
}

// DomID is the region's id.
func (v View) DomID() string {
	if v.ID == "" {
		return "impact"
	}
	return v.ID
}

func colon(l Line) string {
	if len(l.Named) == 0 {
		return ""
	}
	return ": "
}

// NoteText is "Saving changes the access of 12 people".
func (v View) NoteText() string {
	if v.People == 1 {
		return "Saving changes the access of 1 person"
	}
	return "Saving changes the access of " + strconv.Itoa(v.People) + " people"
}
