using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace VirtFleet.Loader;

/// <summary>
/// Loads VirtFleet.Core and its dependencies (SSH.NET, YamlDotNet, BouncyCastle)
/// from the module's deps/ folder into a private AssemblyLoadContext, so another
/// module's copy of those libraries can never clash with ours. Only VirtFleet.Core
/// is handed to the default context; the rest stay private. The manifest loads this
/// assembly (NestedModules) before VirtFleet.Cmdlets, so the handler is in place when
/// PowerShell reflects over the cmdlets.
/// </summary>
public sealed class DependencyLoader : IModuleAssemblyInitializer
{
    public void OnImport() => Register();

    private const string CoreAssemblyName = "VirtFleet.Core";
    private static readonly string DepsDir =
        Path.Combine(Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location)!, "deps");
    private static readonly Lazy<PrivateLoadContext> Context = new(() => new PrivateLoadContext(DepsDir));

    private static int _registered;

    [ModuleInitializer]
    internal static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0) AssemblyLoadContext.Default.Resolving += ResolveCore;
    }

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
