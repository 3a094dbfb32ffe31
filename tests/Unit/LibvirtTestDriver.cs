using Xunit;

namespace VirtFleet.Tests;

/// <summary>Tests that change libvirt's shared test:///default driver (its one domain "test") run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class LibvirtTestDriver
{
    public const string Name = "LibvirtTestDriver";
}
