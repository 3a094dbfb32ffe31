namespace VirtFleet.Instances;

/// <summary>Key pairs kept on the admin machine: keypairs/NAME.pub in the VirtFleet config folder.</summary>
public static class KeyPairStore
{
    public static string Folder => Path.Combine(Path.GetDirectoryName(Inventory.HostInventory.DefaultPath)!, "keypairs");

    public static string ReadPublicKey(string name)
    {
        var path = Path.Combine(Folder, Libvirt.Names.ValidateInstanceName(name) + ".pub");
        if (!File.Exists(path))
            throw new VfException("KeyPairNotFound", FailureKind.ObjectNotFound, $"No key pair '{name}' ({path}); add one with Import-VfKeyPair.", name);
        return File.ReadAllText(path).Trim();
    }
}
