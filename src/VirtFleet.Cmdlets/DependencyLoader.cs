using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Loads VirtFleet.Core and its dependencies (SSH.NET, YamlDotNet, BouncyCastle)
/// from the module's deps/ folder into a private AssemblyLoadContext, so another
/// module's copy of those libraries can never clash with ours. Only VirtFleet.Core
/// is handed to the default context; the rest stay private.
/// </summary>
internal static class DependencyLoader
{
    private const string CoreAssemblyName = "VirtFleet.Core";
    private static readonly string DepsDir =
        Path.Combine(Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location)!, "deps");
    private static readonly Lazy<PrivateLoadContext> Context = new(() => new PrivateLoadContext(DepsDir));

    [ModuleInitializer]
    internal static void Register() => AssemblyLoadContext.Default.Resolving += ResolveCore;

    private static Assembly? ResolveCore(AssemblyLoadContext _, AssemblyName name) =>
        name.Name == CoreAssemblyName && File.Exists(Path.Combine(DepsDir, CoreAssemblyName + ".dll"))
            ? Context.Value.LoadFromAssemblyName(name)
            : null;

    private sealed class PrivateLoadContext(string directory) : AssemblyLoadContext("VirtFleet", isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            var path = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
