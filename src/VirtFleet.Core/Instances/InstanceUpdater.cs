using System.Text;
using System.Xml.Linq;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>
/// Changes existing instances of one host in place, in one round trip under the host lock: their VirtFleet metadata
/// (tags, security groups, the owner record; live and persistent) and their instance type (vCPUs and memory in the
/// persistent definition, which libvirt changes only while the domain is off: a running instance is shut down for it
/// when the caller allows, and started again by the caller through <see cref="InstanceActions"/>, so an instance in a
/// security group starts paused behind its default deny as every start does). The disk keeps its size. Each domain must
/// still be the instance the caller read (the same instance id in its own metadata); anything else is left alone.
/// </summary>
public static class InstanceUpdater
{
    /// <summary>What to change on one instance, as read (<paramref name="Instance"/>); null or empty: unchanged.</summary>
    public sealed record Change(Instance Instance, IReadOnlyList<string>? AddTags = null, IReadOnlyList<string>? AddGroups = null,
        InstanceType? Type = null, InstanceOwner? Owner = null, bool StopIfRunning = false);

    public sealed record Outcome(string Name, bool Stopped, VfException? Error);

    private const string Functions = """
        V() { virsh -q -c qemu:///system "$@"; }
        res() { printf '\n@@VF-RESULT@@ %s %s %s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')"; }
        vf_update() { # name id metadata-xml vcpus memory-KiB stop-if-running stop-timeout
          n=$1
          V domuuid "$n" >/dev/null 2>&1 || { res "$n" failed "no domain $n on this host"; return; }
          meta=$(V metadata --domain "$n" --uri URI 2>/dev/null)
          id=$(printf '%s\n' "$meta" | sed 's|<|\n<|g' | sed -n 's|^<\([A-Za-z0-9_]*:\)\{0,1\}id>\(.*\)$|\2|p' | head -n 1)
          if [ -z "$meta" ] || [ "$id" != "$2" ]; then
            res "$n" changed "the domain named $n is ${id:-not a VirtFleet instance}, not the instance $2 that was read; it is left alone"; return
          fi
          stopped=0
          if [ -n "$4" ]; then
            case "$(V domstate "$n")" in
              "shut off") ;;
              *) if [ "$6" != 1 ]; then res "$n" failed "its type changes only while it is stopped"; return; fi
                 V shutdown "$n" >/dev/null 2>&1; i=0
                 while [ "$(V domstate "$n")" != "shut off" ] && [ "$i" -lt "$7" ]; do sleep 1; i=$((i+1)); done
                 [ "$(V domstate "$n")" = "shut off" ] || V destroy "$n" >/dev/null 2>&1
                 [ "$(V domstate "$n")" = "shut off" ] || { res "$n" failed "it did not stop"; return; }
                 stopped=1 ;;
            esac
            max=$(V vcpucount "$n" --maximum --config 2>/dev/null || echo 0)
            if [ "$4" -ge "$max" ]; then err=$(V setvcpus "$n" "$4" --config --maximum 2>&1 && V setvcpus "$n" "$4" --config 2>&1)
            else err=$(V setvcpus "$n" "$4" --config 2>&1 && V setvcpus "$n" "$4" --config --maximum 2>&1); fi || { res "$n" failed "vCPUs: $err"; return; }
            mem=$(V dominfo "$n" | sed -n 's/^Max memory: *\([0-9]*\) KiB.*/\1/p')
            if [ "$5" -ge "${mem:-0}" ]; then err=$(V setmaxmem "$n" "$5" --config 2>&1 && V setmem "$n" "$5" --config 2>&1)
            else err=$(V setmem "$n" "$5" --config 2>&1 && V setmaxmem "$n" "$5" --config 2>&1); fi || { res "$n" failed "memory: $err"; return; }
          fi
          flags=--config
          case "$(V domstate "$n")" in "shut off") ;; *) flags="--config --live" ;; esac
          # shellcheck disable=SC2086
          err=$(V metadata --domain "$n" --uri URI --key vf --set "$3" $flags 2>&1) || { res "$n" failed "metadata: $err"; return; }
          res "$n" ok "$stopped"
        }
        """;

    /// <summary>The new metadata of an instance: what it holds as read, with the change applied (tags and groups only added).</summary>
    public static VfMetadata Metadata(Change c)
    {
        var i = c.Instance;
        if (i.InstanceId is not { Length: > 0 } id) throw new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{i.Name} was not created by VirtFleet; it is left alone.", i.Name);
        return new VfMetadata
        {
            InstanceId = id, Image = i.Image, OsFamily = i.OsFamily, OsVariant = i.OsVariant, InstanceType = c.Type?.Name ?? i.InstanceType,
            KeyPair = i.KeyPair, Networks = [.. i.Networks], Created = i.Created, Disks = [.. i.OwnedDisks],
            Tags = [.. i.Tags.Union(c.AddTags ?? [], StringComparer.OrdinalIgnoreCase)],
            SecurityGroups = [.. i.SecurityGroups.Union(c.AddGroups ?? [], StringComparer.Ordinal)],
            SpreadGroup = i.SpreadGroup, Owner = c.Owner ?? i.Owner,
        };
    }

    /// <summary>
    /// The element without its namespace: virsh metadata --set puts every element of what it is given into the
    /// namespace of --uri/--key itself, and refuses XML that declares that prefix already.
    /// </summary>
    public static XElement Bare(XElement e) =>
        new(e.Name.LocalName, e.Attributes().Where(a => !a.IsNamespaceDeclaration).Select(a => new XAttribute(a.Name.LocalName, a.Value)),
            e.Nodes().Select(n => n is XElement child ? Bare(child) : n));

    public static string BuildScript(IReadOnlyList<Change> changes, int stopTimeoutSeconds)
    {
        var sb = new StringBuilder(Functions.Replace("URI", ShellQuote.Quote(VfMetadata.NamespaceUri))).Append('\n');
        foreach (var c in changes)
        {
            Names.ValidateInstanceName(c.Instance.Name);
            var xml = Bare(Metadata(c).ToXml()).ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
            sb.Append(ShellQuote.Join("vf_update", c.Instance.Name, c.Instance.InstanceId!, xml,
                c.Type?.Vcpus.ToString() ?? "", c.Type is null ? "" : (c.Type.MemoryMiB * 1024L).ToString(),
                c.StopIfRunning ? "1" : "0", stopTimeoutSeconds.ToString())).Append('\n');
        }
        return sb.Append("exit 0\n").ToString();
    }

    public static async Task<IReadOnlyList<Outcome>> RunAsync(IRemoteHost host, IReadOnlyList<Change> changes, int stopTimeoutSeconds, CancellationToken ct)
    {
        if (changes.Count == 0) return [];
        var bound = TimeSpan.FromSeconds(60 + stopTimeoutSeconds * changes.Count);
        var r = await HostLock.RunAsync(host, BuildScript(changes, stopTimeoutSeconds), ct, bound: host.CommandTimeout > bound ? host.CommandTimeout : bound);
        r.EnsureSuccess(host.Host.Name, "changing instances", "InstanceUpdateFailed");
        var results = r.Stdout.Split('\n').Where(l => l.StartsWith("@@VF-RESULT@@ ")).Select(l => l["@@VF-RESULT@@ ".Length..].Split(' ', 3))
            .GroupBy(a => a[0]).ToDictionary(g => g.Key, g => g.Last());
        return changes.Select(c =>
        {
            var name = c.Instance.Name;
            if (results.TryGetValue(name, out var a) && a[1] == "ok") return new Outcome(name, a.Length > 2 && a[2].Trim() == "1", null);
            var msg = a is { Length: > 2 } ? a[2].Trim() : "no result";
            return new Outcome(name, false, a?[1] == "changed"
                ? new VfException("InstanceChanged", FailureKind.InvalidOperation, $"{host.Host.Name}: {msg}", name)
                : new VfException("InstanceUpdateFailed", FailureKind.InvalidOperation, $"{host.Host.Name}: changing {name} failed: {msg}", name));
        }).ToList();
    }
}
