namespace VirtFleet.KeyPairs;

/// <summary>The algorithm of a key pair. Windows passwords need Rsa (as EC2 does); anything else is Other when imported.</summary>
public enum KeyType
{
    Ed25519,
    Rsa,
    Other,
}
