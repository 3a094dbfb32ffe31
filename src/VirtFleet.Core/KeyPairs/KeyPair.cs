namespace VirtFleet.KeyPairs;

/// <summary>A key pair VirtFleet knows: its public key goes into Linux instances' seeds.</summary>
public sealed record KeyPair(string Name, string Fingerprint, string PublicKey, string? PrivateKeyFile);
