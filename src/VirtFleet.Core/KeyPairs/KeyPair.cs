namespace VirtFleet.KeyPairs;

/// <summary>
/// A key pair VirtFleet knows: its public key goes into Linux instances' seeds; a Windows instance's first-boot script
/// encrypts the administrator password to it (RSA only).
/// </summary>
public sealed record KeyPair(string Name, string Fingerprint, string PublicKey, string? PrivateKeyFile)
{
    /// <summary>The key's algorithm, read from its public key line.</summary>
    public KeyType KeyType => KeyPairStore.TypeOf(PublicKey);
}
