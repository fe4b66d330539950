package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/labstack/echo/v4"
)

// trigger sets HX-Trigger to fire events (name → detail) on the page; the "toast" event
// shows its detail as a message. Header values reach the browser's XMLHttpRequest as
// Latin-1, so raw UTF-8 would arrive garbled ("ZoÃ«"): every character beyond ASCII is
// sent as a JSON \u escape, which the page's JSON.parse turns back into the name as typed.
func trigger(c echo.Context, events map[string]string) {
	c.Response().Header().Set("HX-Trigger", asciiJSON(events))
}

// asciiJSON is the JSON of v with nothing but ASCII in it.
func asciiJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings are passed
	}
	var out strings.Builder
	for _, r := range string(b) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}
