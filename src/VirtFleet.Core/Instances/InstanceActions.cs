using System.Text;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

public enum InstanceAction { Start, Stop, Restart, Suspend, Resume, Remove }

/// <summary>
/// Lifecycle changes for several instances of one host in one round trip, under the host lock. Each instance's result is
/// reported on its own line, then every named instance is read back (except after a removal).
/// </summary>
public static class InstanceActions
{
    private const string Functions = """
        S=STORE
        V() { virsh -q -c qemu:///system "$@"; }
        st() { V domstate "$1" 2>/dev/null; }
        res() { printf '\n@@VF-RESULT@@ %s %s %s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')"; }
        run() { n=$1; shift; if err=$("$@" 2>&1); then res "$n" ok ""; else res "$n" failed "$err"; fi; }
        wait_off() { i=0; while [ "$(st "$1")" != "shut off" ] && [ "$i" -lt "$2" ]; do sleep 1; i=$((i+1)); done; [ "$(st "$1")" = "shut off" ]; }
        # The domain now under this name must be the instance the caller read: the same VirtFleet instance id, read
        # here from the domain's own metadata (empty: not VirtFleet's, acted on only when the caller read it so and
        # passed -Force). A stale object never acts on a domain that took its name since.
        vf_elements() { # the text of each <vf:NAME> element of $vf_meta, one a line (one element a line however it is printed)
          printf '%s\n' "$vf_meta" | sed 's|<|\n<|g' | sed -n "s|^<\([A-Za-z0-9_]*:\)\{0,1\}$1>\(.*\)\$|\2|p"
        }
        vf_owned() { # name expected-id force
          V domuuid "$1" >/dev/null 2>&1 || { res "$1" failed "no domain $1 on this host"; return 1; }
          vf_meta=$(V metadata --domain "$1" --uri URI 2>/dev/null)
          vf_id=$(vf_elements id | head -n 1)
          [ -n "$vf_meta" ] || vf_id=''
          if [ "$vf_id" != "$2" ]; then
            res "$1" changed "the domain named $1 is ${vf_id:-not a VirtFleet instance}, not the instance ${2:-(not VirtFleet's)} that was read; it is left alone"
            return 1
          fi
          [ -n "$vf_id" ] || [ "$3" = 1 ] || { res "$1" notours "$1 was not created by VirtFleet; it is left alone"; return 1; }
        }
        vf_start() { # name [guard-v4 guard-v6]: an instance in a security group starts paused until its default deny is in place
          case "$(st "$1")" in
            running) res "$1" ok "" ;;
            paused) run "$1" V resume "$1" ;;
            *) if [ -n "$2" ] && [ -n "$(vf_elements group)" ]; then
                 if ! err=$(V start --paused "$1" 2>&1); then res "$1" failed "$err"
                 elif ! err=$(vf_guard "$1" "$2" "$3" 2>&1); then V destroy "$1" >/dev/null 2>&1; res "$1" failed "its firewall could not be put in place, so it was not started: $err"
                 else run "$1" V resume "$1"; fi
               else run "$1" V start "$1"; fi ;;
          esac
        }
        vf_stop() { # name timeout force
          case "$(st "$1")" in "shut off") res "$1" ok ""; return ;; esac
          if [ "$3" = 1 ]; then run "$1" V destroy "$1"; return; fi
          V shutdown "$1" >/dev/null 2>&1
          if wait_off "$1" "$2"; then res "$1" ok ""; else run "$1" V destroy "$1"; fi
        }
        vf_restart() { if [ "$2" = 1 ]; then run "$1" V reset "$1"; else run "$1" V reboot "$1"; fi; }
        vf_suspend() { case "$(st "$1")" in paused) res "$1" ok "" ;; *) run "$1" V suspend "$1" ;; esac; }
        vf_resume() { case "$(st "$1")" in running) res "$1" ok "" ;; *) run "$1" V resume "$1" ;; esac; }
        vf_remove() { # name (after vf_owned: its metadata is in $vf_meta)
          n=$1 d="$S/instances/$1"
          # The disks to delete are the ones the domain's own metadata names, read here, each only when it is a
          # file directly in the instance's folder: no '.' or '..' component, the same place once symlinks are
          # resolved, and the folder itself not a symlink. Anything else is kept.
          vf_disks=$(vf_elements disk)
          V destroy "$n" >/dev/null 2>&1
          if ! err=$(V undefine --nvram "$n" 2>&1) && ! err=$(V undefine "$n" 2>&1); then res "$n" failed "$err"; return; fi
          vf_real=''; [ -d "$d" ] && [ ! -L "$d" ] && vf_real=$(realpath -e -- "$d" 2>/dev/null)
          printf '%s\n' "$vf_disks" | while IFS= read -r f; do
            [ -n "$f" ] && [ -n "$vf_real" ] || continue
            case "$f/" in */./*|*/../*|*//*) continue ;; esac
            case "$f" in "$d/"*/*) continue ;; "$d/"?*) ;; *) continue ;; esac
            r=$(realpath -m -- "$f" 2>/dev/null) || continue
            [ "${r%/*}" = "$vf_real" ] && [ -f "$r" ] && [ ! -L "$f" ] && rm -f -- "$r"
          done
          rm -f -- "$d/.creating" "$d/domain.xml"; rmdir -- "$d" 2>/dev/null
          res "$n" ok ""
        }
        """;

    /// <summary>An instance to act on: its name and the instance id the caller read (null: a domain not VirtFleet's).</summary>
    public sealed record Target(string Name, string? InstanceId);

    public static string BuildScript(InstanceAction action, IReadOnlyList<Target> targets, int timeoutSeconds, bool force, string? trailer = null)
    {
        var sb = new StringBuilder(Functions.Replace("STORE", HostPaths.Store).Replace("URI", ShellQuote.Quote(VfMetadata.NamespaceUri))).Append('\n');
        if (action == InstanceAction.Start) sb.Append(InstanceCreator.GuardFunction).Append('\n');
        foreach (var t in targets)
        {
            Names.ValidateInstanceName(t.Name);
            sb.Append(ShellQuote.Join("vf_owned", t.Name, t.InstanceId ?? "", force ? "1" : "0")).Append(" && ");
            IEnumerable<string> argv = action switch
            {
                InstanceAction.Start when t.InstanceId is { } id => ["vf_start", t.Name, .. Guard(t.Name, id)],
                InstanceAction.Start => ["vf_start", t.Name],
                InstanceAction.Stop => ["vf_stop", t.Name, timeoutSeconds.ToString(), force ? "1" : "0"],
                InstanceAction.Restart => ["vf_restart", t.Name, force ? "1" : "0"],
                InstanceAction.Suspend => ["vf_suspend", t.Name],
                InstanceAction.Resume => ["vf_resume", t.Name],
                InstanceAction.Remove => ["vf_remove", t.Name],
                _ => throw new ArgumentOutOfRangeException(nameof(action)),
            };
            sb.Append(ShellQuote.Join(argv)).Append('\n');
        }
        // A removed domain has nothing to read back.
        if (action != InstanceAction.Remove) sb.Append(InstanceReader.ReadBackScript(targets.Select(t => t.Name)));
        sb.Append(InstanceCreator.Trailer(trailer)).Append("exit 0\n");
        return sb.ToString();
    }

    /// <summary>The default-deny guard's lines for a start (base64, as vf_guard reads them); invalid ids get none.</summary>
    private static string[] Guard(string name, string instanceId)
    {
        try
        {
            var (v4, v6) = Networking.FirewallPlanner.Guard(name, instanceId);
            return [B64(v4), B64(v6)];
        }
        catch (VfException) { return []; }
        static string B64(IEnumerable<string> lines) => Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
    }

    public sealed record Outcome(string Name, Instance? Instance, VfException? Error);

    /// <param name="trailer">Shell text run in the same round trip afterwards (e.g. a read of the host's network state);
    /// <paramref name="onTrailer"/> gets what it printed.</param>
    public static async Task<IReadOnlyList<Outcome>> RunAsync(IRemoteHost host, InstanceAction action, IReadOnlyList<Target> targets,
        int timeoutSeconds, bool force, CancellationToken ct, string? trailer = null, Action<string>? onTrailer = null)
    {
        // Under the host lock; bounded by the stop timeouts it may wait through (or the host's command timeout when longer).
        var bound = TimeSpan.FromSeconds(60 + timeoutSeconds * Math.Max(1, targets.Count));
        var r = await HostLock.RunAsync(host, BuildScript(action, targets, timeoutSeconds, force, trailer), ct,
            bound: host.CommandTimeout > bound ? host.CommandTimeout : bound);
        var (own, extra) = InstanceCreator.SplitTrailer(r.Stdout);
        r = r with { Stdout = own };
        if (extra is not null) onTrailer?.Invoke(extra);
        r.EnsureSuccess(host.Host.Name, $"{action} instances", "InstanceActionFailed");
        var results = r.Stdout.Split('\n').Where(l => l.StartsWith("@@VF-RESULT@@ "))
            .Select(l => l["@@VF-RESULT@@ ".Length..].Split(' ', 3))
            .GroupBy(a => a[0]).ToDictionary(g => g.Key, g => g.Last());
        var domainsAt = r.Stdout.IndexOf("@@VF-DOMAIN@@", StringComparison.Ordinal);
        var instances = domainsAt < 0 ? new Dictionary<string, Instance>()
            : InstanceReader.Parse(host.Host.Name, r.Stdout[domainsAt..]).ToDictionary(i => i.Name);
        return targets.Select(t =>
        {
            var inst = instances.GetValueOrDefault(t.Name);
            if (results.TryGetValue(t.Name, out var a) && a[1] == "ok") return new Outcome(t.Name, inst, null);
            var msg = results.TryGetValue(t.Name, out a) && a.Length > 2 ? a[2].Trim() : "no result";
            return new Outcome(t.Name, inst, a?[1] switch
            {
                "changed" => new VfException("InstanceChanged", FailureKind.InvalidOperation, $"{host.Host.Name}: {msg}", t.Name),
                "notours" => new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{host.Host.Name}: {msg}", t.Name),
                _ => new VfException($"{action}InstanceFailed", FailureKind.InvalidOperation, $"{host.Host.Name}: {action} {t.Name} failed: {msg}", t.Name),
            });
        }).ToList();
    }
}
