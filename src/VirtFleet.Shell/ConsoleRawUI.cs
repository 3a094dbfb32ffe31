using System.Management.Automation;
using System.Management.Automation.Host;

namespace VirtFleet.Shell;

internal sealed class ConsoleRawUI(ConsoleUI ui) : PSHostRawUserInterface
{
    private int Width => ui.Terminal.Width;

    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override Coordinates CursorPosition { get; set; }
    public override Coordinates WindowPosition { get; set; }
    public override int CursorSize { get; set; } = 1;
    public override Size BufferSize { get => new(Width, 9999); set { } }
    public override Size WindowSize { get => new(Width, 50); set { } }
    public override Size MaxWindowSize => new(Width, 50);
    public override Size MaxPhysicalWindowSize => new(Width, 50);
    public override bool KeyAvailable => ui.Terminal == ConsoleTerminal.Instance && !Console.IsInputRedirected && Console.KeyAvailable;
    public override string WindowTitle { get; set; } = "vfsh";
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
    public override void FlushInputBuffer() { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
}
