package spec

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// MessageUnsupported says that Berth does not act on a Compose key.
const MessageUnsupported = "not supported by Berth"

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

// noted accepts a key with a warning that says why it has no effect.
func noted(note string) *keySpec { return &keySpec{note: note} }

const swarmOnly = "used by Swarm only: docker compose ignores it too on a single engine"

var composeSpec = func() *keySpec {
	volumeEntry := &keySpec{
		fields: map[string]*keySpec{
			"type":        anyValue, // unsupported types: see normalizer.service
			"source":      anyValue,
			"target":      anyValue,
			"read_only":   anyValue,
			"consistency": noted("has no effect on Linux engines (as with docker compose); ignored"),
			"bind":        fields(map[string]*keySpec{"create_host_path": anyValue, "propagation": anyValue, "selinux": anyValue}),
			"volume":      fields(map[string]*keySpec{"nocopy": anyValue, "subpath": anyValue}),
			"tmpfs":       fields(map[string]*keySpec{"size": anyValue, "mode": anyValue}),
		},
		check: checkShortVolume,
	}
	fileRef := fields(map[string]*keySpec{"source": anyValue, "target": anyValue, "uid": anyValue, "gid": anyValue, "mode": anyValue})
	resource := func(reservation bool) *keySpec {
		cpus := anyValue
		if reservation {
			cpus = noted("a CPU reservation is " + swarmOnly)
		}
		kv := map[string]*keySpec{"cpus": cpus, "memory": anyValue}
		if reservation {
			kv["devices"] = &keySpec{items: fields(map[string]*keySpec{
				"capabilities": anyValue, "driver": anyValue, "count": anyValue, "device_ids": anyValue, "options": anyValue,
			})}
		} else {
			kv["pids"] = anyValue
		}
		return fields(kv)
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
		"deploy": fields(map[string]*keySpec{
			"replicas":  anyValue,
			"resources": fields(map[string]*keySpec{"limits": resource(false), "reservations": resource(true)}),
			"restart_policy": fields(map[string]*keySpec{
				"condition": anyValue, "max_attempts": anyValue,
				"delay":  noted("the engine's restart back-off applies; a delay is " + swarmOnly),
				"window": noted(swarmOnly),
			}),
			"mode":            noted(swarmOnly),
			"labels":          noted(swarmOnly),
			"placement":       noted(swarmOnly),
			"update_config":   noted(swarmOnly),
			"rollback_config": noted(swarmOnly),
			"endpoint_mode":   noted(swarmOnly),
		}),
		"scale": anyValue,
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
				"name": anyValue, "app_protocol": anyValue,
			}),
		},
		"expose":  anyValue,
		"volumes": {items: volumeEntry},
		"networks": {
			values: fields(map[string]*keySpec{"aliases": anyValue, "ipv4_address": anyValue}),
		},
		"network_mode": anyValue,
		"links":        anyValue,
		"volumes_from": anyValue,
		"label_file":   anyValue,
		"attach":       noted("Berth does not attach to a service's output (berth logs shows it); ignored"),
		"healthcheck": fields(map[string]*keySpec{
			"test": anyValue, "interval": anyValue, "timeout": anyValue, "retries": anyValue,
			"start_period": anyValue, "start_interval": anyValue, "disable": anyValue,
		}),
		"restart":           anyValue,
		"init":              anyValue,
		"user":              anyValue,
		"working_dir":       anyValue,
		"hostname":          anyValue,
		"domainname":        anyValue,
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
		"pid":               anyValue,
		"ipc":               anyValue,
		"uts":               anyValue,
		"userns_mode":       anyValue,
		"cgroup":            anyValue,
		"shm_size":          anyValue,
		"devices":           anyValue,
		"ulimits":           anyValue,
		"sysctls":           anyValue,
		"dns":               anyValue,
		"dns_search":        anyValue,
		"dns_opt":           anyValue,
		"logging":           fields(map[string]*keySpec{"driver": anyValue, "options": anyValue}),
		"platform":          anyValue,
		"runtime":           anyValue,
		"security_opt":      anyValue,
		"group_add":         anyValue,
		"mem_limit":         anyValue,
		"mem_reservation":   anyValue,
		"memswap_limit":     anyValue,
		"mem_swappiness":    anyValue,
		"cpus":              anyValue,
		"cpu_shares":        anyValue,
		"cpu_period":        anyValue,
		"cpu_quota":         anyValue,
		"cpuset":            anyValue,
		"pids_limit":        anyValue,
		"oom_kill_disable":  anyValue,
		"oom_score_adj":     anyValue,
		"gpus":              anyValue,
		"secrets":           {items: fileRef},
		"configs":           {items: fileRef},
		"container_name": noted("containers are named by Berth, so that several environments can come from one definition; " +
			"the name is kept as a network alias, so whoever reached the container by it still does"),
		"extends": anyValue, // the extended file is checked like this one
		"develop": fields(map[string]*keySpec{
			"watch": {items: fields(map[string]*keySpec{
				"path": anyValue, "target": anyValue, "ignore": anyValue, "include": anyValue,
				"action": {check: checkWatchAction},
			})},
		}),
	})
	fileObject := func(content bool) *keySpec {
		kv := map[string]*keySpec{"file": anyValue, "environment": anyValue, "external": anyValue, "name": anyValue, "labels": anyValue}
		if content {
			kv["content"] = anyValue
		}
		return &keySpec{values: fields(kv)}
	}
	return fields(map[string]*keySpec{
		"name":     anyValue, // compared with the environment name in load.go
		"services": {values: service},
		"networks": {values: fields(map[string]*keySpec{
			"driver": anyValue, "driver_opts": anyValue, "external": anyValue, "internal": anyValue, "labels": anyValue, "name": anyValue,
			"attachable": anyValue, "enable_ipv6": anyValue,
			"ipam": fields(map[string]*keySpec{
				"driver": anyValue,
				"config": {items: fields(map[string]*keySpec{"subnet": anyValue, "gateway": anyValue, "ip_range": anyValue})},
			}),
		})},
		"volumes": {values: fields(map[string]*keySpec{
			"driver": anyValue, "driver_opts": anyValue, "external": anyValue, "labels": anyValue, "name": anyValue,
		})},
		"secrets": fileObject(false),
		"configs": fileObject(true),
		"version": noted("obsolete in the Compose specification; ignored"),
		"include": anyValue, // included files are checked like this one
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
		case "ro", "rw", "", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private", "rprivate",
			"cached", "delegated", "consistent":
		default:
			ignored = append(ignored, opt)
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("volume option %q is not supported by Berth", strings.Join(ignored, ","))
}

// checkWatchAction refuses the develop.watch action Berth does not run.
func checkWatchAction(n *yaml.Node) string {
	if n.Value == "sync+exec" {
		return "action sync+exec is not supported by Berth (sync+restart restarts the service instead)"
	}
	return ""
}

// unsupportedKeys walks a Compose file for every key Berth does not act
// on (Unsupported warnings, errors unless the definition says otherwise)
// and every key it reads past with a note. x-* keys are extensions and
// always silent.
func unsupportedKeys(f *yamlFile) []Warning {
	var out []Warning
	file := f.display()
	var walk func(n *yaml.Node, spec *keySpec, field string, depth int)
	note := func(line int, field, msg string) {
		out = append(out, Warning{File: file, Line: line, Field: field, Message: msg})
	}
	unsupported := func(line int, field, msg string) {
		out = append(out, Warning{File: file, Line: line, Field: field, Message: msg, unsupported: true})
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
						unsupported(k.Line, f, MessageUnsupported)
						continue
					}
					if sub.note != "" {
						note(k.Line, f, sub.note)
					}
					if sub.check != nil && deref(v) != nil && deref(v).Kind != yaml.ScalarNode {
						if msg := sub.check(deref(v)); msg != "" {
							unsupported(k.Line, f, msg)
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
					unsupported(n.Line, field, msg)
				}
			}
		}
	}
	for _, root := range f.docs {
		walk(root, composeSpec, "", 0)
	}
	return out
}
