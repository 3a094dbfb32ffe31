using System.Collections.Concurrent;
using System.Management.Automation;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Base of every VirtFleet cmdlet. One place that turns failures into ErrorRecords with
/// stable ids and specific categories; Ctrl+C cancels a token passed to all remote work;
/// background work posts records that only the pipeline thread writes.
/// </summary>
public abstract class VfCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();
    private BlockingCollection<Action>? _records;
    private int _pipelineThread;

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>This runspace's VirtFleet session: inventory and pooled connections.</summary>
    /// <remarks>Resolved on the pipeline thread (worker threads have no default runspace): RunAsync makes sure of it.</remarks>
    protected VfSession Session => _session ??= VfSession.For(this);
    private VfSession? _session;

    /// <summary>
    /// The inventory a cmdlet works on: <paramref name="path"/> (resolved against the current location) must exist,
    /// as must $env:VIRTFLEET_INVENTORY when it names the file; the session's (Start-VfLab) or the user's default
    /// inventory may be absent (an empty fleet). A missing named inventory stops the command (InventoryNotFound).
    /// </summary>
    protected Inventory.HostInventory OpenInventory(string? path)
    {
        try
        {
            if (path is not null) return Inventory.HostInventory.LoadExisting(GetUnresolvedProviderPathFromPSPath(path));
            if (Session.InventoryPath is null && System.Environment.GetEnvironmentVariable(UserPaths.InventoryVariable) is { Length: > 0 } env)
                return Inventory.HostInventory.LoadExisting(env);
            return Session.LoadInventory();
        }
        catch (VfException ex) { ThrowFailure(ex, path); throw; }
    }

    /// <summary>The inventory's hosts by name (wildcards) and tag; an exact name no host has stops the command (HostNotFound).</summary>
    protected IReadOnlyList<Model.HostEntry> SelectFrom(Inventory.HostInventory inventory, IEnumerable<string>? names, IEnumerable<string>? tags = null)
    {
        try { return inventory.Select(names, tags); }
        catch (VfException ex) { ThrowFailure(ex, ex.Target); throw; }
    }

    /// <summary>The Get- convention: each exact name (no wildcard) that matched nothing is one ObjectNotFound error.</summary>
    protected void WriteNotFound(string errorId, string what, IEnumerable<string>? names, IEnumerable<string> found)
    {
        foreach (var n in names ?? [])
            if (!Wildcard.HasWildcards(n) && !found.Any(f => Wildcard.IsMatch(f, n)))
                WriteFailure(new VfException(errorId, FailureKind.ObjectNotFound, $"No {what} '{n}'.", n), n);
    }

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing() => _stop.Dispose();

    /// <summary>
    /// Runs async work on the thread pool while the pipeline thread writes what it posts
    /// (objects, errors, progress, verbose). Returns when the work is done.
    /// </summary>
    /// <param name="failureTarget">The target of the terminating error when the work throws (default: the error's own).</param>
    protected void RunAsync(Func<CancellationToken, Task> work, object? failureTarget = null)
    {
        _ = Session; // resolved here, on the pipeline thread: a worker thread has no default runspace and would get another session
        using var records = new BlockingCollection<Action>();
        _records = records;
        _pipelineThread = Environment.CurrentManagedThreadId;
        var task = Task.Run(() => work(Stopping));
        task.ContinueWith(_ => records.CompleteAdding(), TaskScheduler.Default);
        try
        {
            foreach (var write in records.GetConsumingEnumerable()) write();
        }
        catch
        {
            // A write stopped the pipeline (Select-Object -First, a terminating error): the work is cancelled and awaited,
            // so nothing it started (a host's event stream) outlives the command.
            _stop.Cancel();
            try { task.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { /* cancelled */ }
            throw;
        }
        finally
        {
            _records = null;
        }
        if (task.IsCanceled || (task.Exception?.InnerException is OperationCanceledException && Stopping.IsCancellationRequested))
            throw new PipelineStoppedException();
        if (task.Exception is { } failure)
            ThrowFailure(failure.InnerExceptions.Count == 1 ? failure.InnerExceptions[0] : failure, failureTarget);
    }

    /// <summary>Runs async work and returns its value, writing posted records meanwhile.</summary>
    protected T RunAsync<T>(Func<CancellationToken, Task<T>> work, object? failureTarget = null)
    {
        T result = default!;
        RunAsync(async ct => { result = await work(ct); }, failureTarget);
        return result;
    }

    /// <summary>From any thread: queue an action for the pipeline thread (or run it now on it).</summary>
    protected void Post(Action write)
    {
        if (_records is { } q && !q.IsAddingCompleted) q.Add(write);
        else write();
    }

    /// <summary>From any thread: runs <paramref name="ask"/> on the pipeline thread and returns its answer (ShouldProcess, ShouldContinue).</summary>
    protected T OnPipeline<T>(Func<T> ask)
    {
        if (_records is not { IsAddingCompleted: false } || Environment.CurrentManagedThreadId == _pipelineThread) return ask();
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try { answer.SetResult(ask()); }
            catch (Exception ex) { answer.SetException(ex); }
        });
        return answer.Task.GetAwaiter().GetResult();
    }

    /// <summary>The reporter Core operations talk to: it writes through this cmdlet's pipeline thread.</summary>
    protected Operations.IOperationReporter Reporter => _reporter ??= new CmdletReporter(this);
    private Operations.IOperationReporter? _reporter;

    private sealed class CmdletReporter(VfCmdlet cmdlet) : Operations.IOperationReporter
    {
        public void Progress(Operations.OperationProgress p) => cmdlet.PostProgress(new ProgressRecord(p.Id, p.Activity, p.Status)
        {
            PercentComplete = Math.Clamp(p.Percent, 0, 100),
            ParentActivityId = p.ParentId,
            RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });
        public void Verbose(string message) => cmdlet.PostVerbose(message);
        public void Warning(string message) => cmdlet.PostWarning(message);
        public void Failure(VfException error) => cmdlet.PostFailure(error, error.Target);
        public bool ShouldProcess(string target, string action) => cmdlet.OnPipeline(() => cmdlet.ShouldProcess(target, action));
        public bool ConfirmsChanges => cmdlet.OnPipeline(cmdlet.ConfirmsChanges);
    }

    /// <summary>
    /// Whether ShouldProcess may ask or answer no in this call, as PowerShell decides it: -WhatIf (or $WhatIfPreference), -Confirm,
    /// or a $ConfirmPreference at or below the cmdlet's ConfirmImpact; -Confirm:$false never asks.
    /// </summary>
    private bool ConfirmsChanges()
    {
        var cmdlet = (CmdletAttribute?)Attribute.GetCustomAttribute(GetType(), typeof(CmdletAttribute));
        if (cmdlet is not { SupportsShouldProcess: true }) return false;
        var bound = MyInvocation.BoundParameters;
        if (LanguagePrimitives.IsTrue(bound.TryGetValue("WhatIf", out var whatIf) ? whatIf : GetVariableValue("WhatIfPreference"))) return true;
        if (bound.TryGetValue("Confirm", out var confirm)) return LanguagePrimitives.IsTrue(confirm);
        var preference = LanguagePrimitives.TryConvertTo<ConfirmImpact>(GetVariableValue("ConfirmPreference"), out var p) ? p : ConfirmImpact.High;
        return preference != ConfirmImpact.None && cmdlet.ConfirmImpact >= preference;
    }

    protected void PostObject(object? o) => Post(() => WriteObject(o));
    protected void PostVerbose(string text) => Post(() => WriteVerbose(text));
    protected void PostWarning(string text) => Post(() => WriteWarning(text));
    protected void PostProgress(ProgressRecord record) => Post(() => WriteProgress(record));
    protected void PostFailure(Exception ex, object? target = null) => Post(() => WriteFailure(ex, target));

    /// <summary>Writes a non-terminating error for one host or one object.</summary>
    protected void WriteFailure(Exception ex, object? target = null) => WriteError(ToErrorRecord(ex, target));

    /// <summary>Stops the command with a terminating error.</summary>
    protected void ThrowFailure(Exception ex, object? target = null) => ThrowTerminatingError(ToErrorRecord(ex, target));

    protected static ErrorRecord ToErrorRecord(Exception ex, object? target)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } agg) ex = agg.InnerExceptions[0];
        return ex switch
        {
            VfException vf => new ErrorRecord(vf, vf.ErrorId, Category(vf.Kind), target ?? vf.Target),
            OperationCanceledException => new ErrorRecord(ex, "OperationStopped", ErrorCategory.OperationStopped, target),
            TimeoutException => new ErrorRecord(ex, "OperationTimeout", ErrorCategory.OperationTimeout, target),
            UnauthorizedAccessException => new ErrorRecord(ex, "AccessDenied", ErrorCategory.PermissionDenied, target),
            ArgumentException => new ErrorRecord(ex, "InvalidArgument", ErrorCategory.InvalidArgument, target),
            IOException => new ErrorRecord(ex, "IOError", ErrorCategory.WriteError, target),
            _ => new ErrorRecord(ex, "UnexpectedError", ErrorCategory.NotSpecified, target),
        };
    }

    private static ErrorCategory Category(FailureKind kind) => kind switch
    {
        FailureKind.ConnectionError => ErrorCategory.ConnectionError,
        FailureKind.OperationTimeout => ErrorCategory.OperationTimeout,
        FailureKind.SecurityError => ErrorCategory.SecurityError,
        FailureKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        FailureKind.InvalidArgument => ErrorCategory.InvalidArgument,
        FailureKind.InvalidOperation => ErrorCategory.InvalidOperation,
        FailureKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        FailureKind.InvalidData => ErrorCategory.InvalidData,
        FailureKind.ResourceExists => ErrorCategory.ResourceExists,
        FailureKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };
}
