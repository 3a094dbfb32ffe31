using VirtFleet.KeyPairs;

namespace VirtFleet.Operations;

/// <summary>
/// Key pairs (the local key pair folder, <see cref="KeyPairStore"/>): make, import, list, remove. No host is involved, so
/// these take only a reporter (for the ShouldProcess question and per-name errors); a refused change throws.
/// </summary>
public static class KeyPairOperations
{
    /// <summary>Makes a key pair of <paramref name="type"/> (the private key written for the owner only); null when declined. Throws KeyPairExists unless <paramref name="force"/>.</summary>
    public static KeyPair? Create(IOperationReporter report, string name, bool force, KeyType type = KeyType.Ed25519) =>
        report.ShouldProcess(name, "Create key pair") ? KeyPairStore.Create(name, force, type) : null;

    /// <summary>
    /// Records an OpenSSH public key as a key pair: <paramref name="publicKey"/>'s text, or the file <paramref name="publicKeyFile"/>
    /// (a full path) when the text is null; null when declined. A bad key or an unreadable file throws.
    /// </summary>
    public static KeyPair? Import(IOperationReporter report, string name, string? publicKey, string? publicKeyFile, bool force)
    {
        if (!report.ShouldProcess(name, "Import key pair")) return null;
        return KeyPairStore.Import(name, publicKey ?? File.ReadAllText(publicKeyFile ?? throw new ArgumentNullException(nameof(publicKeyFile))), force);
    }

    /// <summary>
    /// The key pairs whose names match <paramref name="names"/> (wildcards; null: all), handed to <paramref name="onFound"/> first;
    /// then each exact name that matches none is one KeyPairNotFound error.
    /// </summary>
    public static IReadOnlyList<KeyPair> List(IOperationReporter report, IReadOnlyList<string>? names, Action<IReadOnlyList<KeyPair>>? onFound = null)
    {
        var pairs = KeyPairStore.List();
        var matching = pairs.Where(k => names is null || names.Any(n => Wildcard.IsMatch(k.Name, n))).ToList();
        onFound?.Invoke(matching);
        ReportNotFound(report, "KeyPairNotFound", "key pair", names, pairs.Select(k => k.Name));
        return matching;
    }

    /// <summary>Forgets a key pair (and deletes its private key if VirtFleet made it); false when declined or failed (the failure reported).</summary>
    public static bool Remove(IOperationReporter report, string name)
    {
        if (!report.ShouldProcess(name, "Remove key pair")) return false;
        try { KeyPairStore.Remove(name); return true; }
        catch (VfException ex) { report.Failure(ex.Target == name ? ex : new VfException(ex.ErrorId, ex.Kind, ex.Message, name, ex)); return false; }
    }

    /// <summary>The Get- convention: each exact name (no wildcard) that matched nothing is one ObjectNotFound error.</summary>
    public static void ReportNotFound(IOperationReporter report, string errorId, string what, IEnumerable<string>? names, IEnumerable<string> found)
    {
        var all = found.ToList();
        foreach (var n in names ?? [])
            if (!Wildcard.HasWildcards(n) && !all.Any(f => Wildcard.IsMatch(f, n)))
                report.Failure(new VfException(errorId, FailureKind.ObjectNotFound, $"No {what} '{n}'.", n));
    }
}
