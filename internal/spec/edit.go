package spec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// ComposeEdit sets one field of a service in a Compose file: Path is a
// JSON pointer into the service (/image, /environment/KEY); Value nil
// removes the field.
type ComposeEdit struct {
	Service string
	Path    string
	Value   *string
}

// EditCompose applies edits to the Compose file data where each maps
// cleanly (the service is defined in this file, the field is written
// literally, without ${...} interpolation) and returns the new content
// and the edits it applied. Comments and the order of keys are kept; the
// file is re-indented with two spaces.
func EditCompose(data []byte, edits []ComposeEdit) ([]byte, []ComposeEdit, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("parse compose file: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil, nil
	}
	services := mapValue(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return data, nil, nil
	}
	var applied []ComposeEdit
	for _, e := range edits {
		svc := mapValue(services, e.Service)
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		if editService(svc, e) {
			applied = append(applied, e)
		}
	}
	if len(applied) == 0 {
		return data, nil, nil
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, err
	}
	enc.Close()
	return out.Bytes(), applied, nil
}

func editService(svc *yaml.Node, e ComposeEdit) bool {
	switch {
	case e.Path == "/image":
		img := mapValue(svc, "image")
		if e.Value == nil || img == nil || img.Kind != yaml.ScalarNode || strings.Contains(img.Value, "${") {
			return false
		}
		img.Value, img.Style = escapeDollars(*e.Value), 0
		return true
	case strings.HasPrefix(e.Path, "/environment/"):
		key := strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(e.Path, "/environment/"), "~1", "/"), "~0", "~")
		if !composeVarName(key) {
			return false
		}
		env := mapValue(svc, "environment")
		if env == nil {
			if e.Value == nil {
				return false
			}
			svc.Content = append(svc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "environment"}, &yaml.Node{Kind: yaml.MappingNode})
			env = svc.Content[len(svc.Content)-1]
		}
		switch env.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(env.Content); i += 2 {
				if env.Content[i].Value != key {
					continue
				}
				v := env.Content[i+1]
				if strings.Contains(v.Value, "${") || strings.Contains(v.Value, "$") && v.Tag != "!!str" {
					return false
				}
				if e.Value == nil {
					env.Content = append(env.Content[:i], env.Content[i+2:]...)
					return true
				}
				value := escapeDollars(*e.Value)
				style := quoteStyle(value)
				if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
					style = v.Style // keep the file's quoting
				}
				env.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: style,
					HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
				return true
			}
			if e.Value == nil {
				return false
			}
			value := escapeDollars(*e.Value)
			// a name YAML reads as a number, a boolean or null is quoted:
			// Compose takes string keys only
			env.Content = append(env.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Style: quoteStyle(key)},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: quoteStyle(value)})
			return true
		case yaml.SequenceNode:
			for i, item := range env.Content {
				k, v, _ := strings.Cut(item.Value, "=")
				if k != key {
					continue
				}
				if strings.Contains(v, "$") {
					return false
				}
				if e.Value == nil {
					env.Content = append(env.Content[:i], env.Content[i+1:]...)
					return true
				}
				env.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Value: key + "=" + escapeDollars(*e.Value),
					HeadComment: item.HeadComment, LineComment: item.LineComment, FootComment: item.FootComment}
				return true
			}
			if e.Value == nil {
				return false
			}
			env.Content = append(env.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key + "=" + escapeDollars(*e.Value)})
			return true
		}
	}
	return false
}

// composeVarName says whether Compose can hold a variable of this name:
// not empty, no =, no $ (Compose interpolates a list entry's name too:
// "$A=0" sets a variable named after A's value), no white space nor
// control characters (Compose refuses a name with a trailing space; the
// others could not be set from a shell either).
func composeVarName(k string) bool {
	if k == "" || !utf8.ValidString(k) {
		return false
	}
	for _, r := range k {
		if r == '=' || r == '$' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// escapeDollars writes a value taken from a running container (a
// literal) so that Compose's interpolation gives it back: $ as $$.
func escapeDollars(v string) string { return strings.ReplaceAll(v, "$", "$$") }

// quoteStyle quotes a value that YAML would otherwise read as another
// type (numbers, booleans, empty), and a value of several lines: the
// encoder's block style loses a first line's indentation after leading
// empty lines ("\n\n A" came back as "\n\nA"), where double quotes keep
// every byte.
func quoteStyle(v string) yaml.Style {
	var probe any
	if v == "" || strings.ContainsAny(v, "\n\r") || yaml.Unmarshal([]byte(v), &probe) != nil {
		return yaml.DoubleQuotedStyle
	}
	if _, ok := probe.(string); !ok {
		return yaml.DoubleQuotedStyle
	}
	return 0
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
