namespace VirtFleet.Model;

/// <summary>
/// The playbook that created an instance, recorded in the instance's VirtFleet metadata at create
/// (&lt;vf:owner playbook="NAME" id="ID"/&gt;). No cmdlet sets it, unlike a tag, so only what a playbook made itself
/// carries it: prune removes an instance only when its owner's Id is the playbook's own (see Playbook.Id).
/// </summary>
public sealed record InstanceOwner(string Playbook, string Id)
{
    public override string ToString() => Playbook == Id ? Playbook : $"{Playbook} ({Id})";
}
