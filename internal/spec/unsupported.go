package spec

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// MessageUnsupported is the warning for a Compose key Berth reads past.
const MessageUnsupported = "not supported by Berth yet; ignored"

// keySpec describes what Berth honours under a Compose key. A spec with
// neither fields, values nor items accepts anything below it.
type keySpec struct {
	fields map[string]*keySpec // the keys of a fixed mapping that Berth honours
	values *keySpec            // every value of a mapping keyed by user names (services, environment...)
	items  *keySpec            // every item of a list
	note   string              // honoured or accepted, but worth a warning anyway
	check  func(n *yaml.Node) string
}

var anyValue = &keySpec{}

func fields(kv map[string]*keySpec) *keySpec { return &keySpec{fields: kv} }

// none is a mapping none of whose keys Berth honours.
func none() *keySpec { return &keySpec{fields: map[string]*keySpec{}} }

var composeSpec = func() *keySpec {
	volumeEntry := &keySpec{
		fields: map[string]*keySpec{
			"type":      anyValue, // unsupported types: see normalizer.service
			"source":    anyValue,
			"target":    anyValue,
			"read_only": anyValue,
			"bind":      fields(map[string]*keySpec{"create_host_path": anyValue}),
			"volume":    none(),
			"tmpfs":     none(),
		},
		check: checkShortVolume,
	}
	service := fields(map[string]*keySpec{
		"image": anyValue,
		"build": {
			fields: map[string]*keySpec{
				"context":             anyValue,
				"dockerfile":          anyValue,
				"dockerfile_inline":   anyValue,
				"args":                anyValue,
				"target":              anyValue,
				"labels":              anyValue,
				"network":             anyValue, // default, none, host: see buildExtras
				"no_cache":            anyValue,
				"pull":                anyValue,
				"cache_from":          anyValue,
				"cache_to":            anyValue,
				"additional_contexts": anyValue,
				"secrets":             anyValue,
				"ssh":                 anyValue,
			},
		},
		"pull_policy": anyValue,
		"deploy":      fields(map[string]*keySpec{"replicas": anyValue}),
		"scale":       anyValue,
		"depends_on": {
			values: fields(map[string]*keySpec{"condition": anyValue, "required": anyValue, "restart": anyValue}),
		},
		"command":     anyValue,
		"entrypoint":  anyValue,
		"environment": anyValue,
		"env_file": {
			items: fields(map[string]*keySpec{"path": anyValue, "required": anyValue, "format": anyValue}),
		},
		"labels": anyValue,
		"ports": {
			items: fields(map[string]*keySpec{
				"target": anyValue, "published": anyValue, "host_ip": anyValue, "protocol": anyValue, "mode": anyValue,
			}),
		},
		"volumes": {items: volumeEntry},
		"networks": {
			values: fields(map[string]*keySpec{"aliases": anyValue, "ipv4_address": anyValue}),
		},
		"healthcheck": fields(map[string]*keySpec{
			"test": anyValue, "interval": anyValue, "timeout": anyValue, "retries": anyValue,
			"start_period": anyValue, "start_interval": anyValue, "disable": anyValue,
		}),
		"restart":           anyValue,
		"init":              anyValue,
		"user":              anyValue,
		"working_dir":       anyValue,
		"hostname":          anyValue,
		"tmpfs":             anyValue,
		"extra_hosts":       anyValue,
		"cap_add":           anyValue,
		"cap_drop":          anyValue,
		"read_only":         anyValue,
		"privileged":        anyValue,
		"tty":               anyValue,
		"stdin_open":        anyValue,
		"stop_signal":       anyValue,
		"stop_grace_period": anyValue,
		"profiles":          anyValue,
		"expose":            anyValue, // informational, as in Compose
		"container_name": {note: "ignored: Berth names containers itself, so that several environments " +
			"can come from one definition without their containers' names clashing"},
		"extends": {check: checkExtends},
	})
	return fields(map[string]*keySpec{
		"name":     anyValue, // compared with the environment name in load.go
		"services": {values: service},
		"networks": {values: fields(map[string]*keySpec{
			"driver": anyValue, "external": anyValue, "internal": anyValue, "labels": anyValue, "name": anyValue,
		})},
		"volumes": {values: fields(map[string]*keySpec{
			"driver": anyValue, "external": anyValue, "labels": anyValue, "name": anyValue,
		})},
		"version": {note: "obsolete in the Compose specification; ignored"},
		"include": {note: "included files are loaded, but Berth does not check them for keys it does not support"},
	})
}()

// checkShortVolume looks at the options of "src:dst:opts".
func checkShortVolume(n *yaml.Node) string {
	parts := strings.Split(n.Value, ":")
	if len(parts) < 3 {
		return ""
	}
	var ignored []string
	for _, opt := range strings.Split(parts[len(parts)-1], ",") {
		switch opt {
		case "ro", "rw", "":
		default:
			ignored = append(ignored, opt)
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("volume option %q is not supported by Berth yet; ignored", strings.Join(ignored, ","))
}

func checkExtends(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		if _, v := mappingValue(n, "file", 0); v != nil {
			return "the extended file is loaded, but Berth does not check it for keys it does not support"
		}
	}
	return ""
}

// unsupportedKeys walks a Compose file and warns about every key Berth
// does not act on. x-* keys are extensions and always silent.
func unsupportedKeys(f *yamlFile) []Warning {
	var out []Warning
	file := f.display()
	var walk func(n *yaml.Node, spec *keySpec, field string, depth int)
	warn := func(line int, field, msg string) {
		out = append(out, Warning{File: file, Line: line, Field: field, Message: msg})
	}
	walk = func(n *yaml.Node, spec *keySpec, field string, depth int) {
		n = deref(n)
		if n == nil || depth > 32 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			switch {
			case spec.fields != nil:
				for _, kv := range mappingPairs(n) {
					k, v := kv[0], kv[1]
					f := joinField(field, k.Value)
					if strings.HasPrefix(k.Value, "x-") {
						continue
					}
					sub, ok := spec.fields[k.Value]
					if !ok {
						warn(k.Line, f, MessageUnsupported)
						continue
					}
					if sub.note != "" {
						warn(k.Line, f, sub.note)
					}
					if sub.check != nil && deref(v) != nil && deref(v).Kind != yaml.ScalarNode {
						if msg := sub.check(deref(v)); msg != "" {
							warn(k.Line, f, msg)
						}
					}
					walk(v, sub, f, depth+1)
				}
			case spec.values != nil:
				for _, kv := range mappingPairs(n) {
					k := kv[0]
					if strings.HasPrefix(k.Value, "x-") {
						continue
					}
					walk(kv[1], spec.values, joinField(field, k.Value), depth+1)
				}
			}
		case yaml.SequenceNode:
			if spec.items == nil {
				return
			}
			for i, item := range n.Content {
				walk(item, spec.items, fmt.Sprintf("%s[%d]", field, i), depth+1)
			}
		case yaml.ScalarNode:
			if spec.check != nil {
				if msg := spec.check(n); msg != "" {
					warn(n.Line, field, msg)
				}
			}
		}
	}
	for _, root := range f.docs {
		walk(root, composeSpec, "", 0)
	}
	return out
}
