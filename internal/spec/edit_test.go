package spec

import (
	"strings"
	"testing"
)

func TestEditCompose(t *testing.T) {
	v := func(s string) *string { return &s }
	in := `# the shop
services:
  web:
    image: probe:1 # pinned
    environment:
      V: "1"
      KEEP: x
      FROM_ENV: ${HOME}
  side:
    image: ${IMG}
    environment:
      - A=1
`
	out, applied, err := EditCompose([]byte(in), []ComposeEdit{
		{Service: "web", Path: "/environment/V", Value: v("2")},
		{Service: "web", Path: "/environment/NEW", Value: v("true")},
		{Service: "web", Path: "/environment/FROM_ENV", Value: v("x")},
		{Service: "web", Path: "/image", Value: v("probe:2")},
		{Service: "side", Path: "/image", Value: v("other")},
		{Service: "side", Path: "/environment/A", Value: nil},
		{Service: "nope", Path: "/image", Value: v("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 4 {
		t.Fatalf("applied %v", applied)
	}
	got := string(out)
	for _, want := range []string{"# the shop", `V: "2"`, `NEW: "true"`, "FROM_ENV: ${HOME}", "image: probe:2 # pinned", "image: ${IMG}", "KEEP: x"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "A=1") {
		t.Errorf("A was not removed:\n%s", got)
	}
}
