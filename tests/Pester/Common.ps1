# Shared by the VirtFleet Pester specs; dot-source it in each file's BeforeAll:
#   BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }
# Runs in real pwsh 7.6 with Pester 6 (./build.sh test), or by hand:
#   $c = New-PesterConfiguration; $c.Run.Path = 'tests/Pester'; $c.Output.Verbosity = 'Detailed'; Invoke-Pester -Configuration $c
# Lab specs need Linux and root; they share one 3-host lab per run (Start-VfLab is idempotent, so an existing lab is
# reused) and remove what they make. Wrap runs that touch the lab in `flock /run/lock/vf-dev-lab.lock`.

$moduleManifest = Join-Path $PSScriptRoot '../../out/VirtFleet/VirtFleet.psd1'
if (-not (Get-Module VirtFleet)) { Import-Module $moduleManifest }

# Key pairs live in a folder of this run's own, never the user's.
if (-not $env:VIRTFLEET_KEYPAIRS) {
    $env:VIRTFLEET_KEYPAIRS = Join-Path ([IO.Path]::GetTempPath()) "vf-pester-keys-$PID"
}

function Initialize-VfTestLab {
    <#
    .SYNOPSIS
    Starts (or reuses) the 3-host lab once per pwsh process and imports its guest images; returns the lab.
    Start-VfLab makes the lab's inventory this session's default, so the specs type commands without -Inventory.
    #>
    [CmdletBinding()]
    param()
    if ($env:VF_PESTER_LAB_READY -ne "$PID") {
        $lab = Start-VfLab -HostCount 3 -Confirm:$false
        $lab.GuestImages | Import-VfImage -Confirm:$false | Out-Null
        $env:VF_PESTER_GUEST_IMAGES = $lab.GuestImages -join [IO.Path]::PathSeparator
        $env:VF_PESTER_LAB_READY = "$PID"
    }
    # Get-VfLab reports the hosts; the guest image folders come from the Start-VfLab of this process.
    $status = Get-VfLab
    $status.GuestImages = $env:VF_PESTER_GUEST_IMAGES -split [IO.Path]::PathSeparator
    $status
}

function Get-VfCompletion {
    <#
    .SYNOPSIS
    What tab completion offers at the end of a command line, as a user pressing Tab sees it.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)][string]$Line)
    (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
}

function ConvertTo-VfTable {
    <#
    .SYNOPSIS
    Renders objects through their default table view at a given console width, as the console shows them.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(ValueFromPipeline)]$InputObject, [int]$Width = 200)
    begin { $items = [Collections.Generic.List[object]]::new() }
    process { $items.Add($InputObject) }
    end { $items | Format-Table | Out-String -Width $Width }
}

function Get-VfTestName {
    <#
    .SYNOPSIS
    A name unique to this run, so specs never meet another run's (or another user's) objects on the shared lab.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)][string]$Prefix)
    if (-not $env:VF_PESTER_RUN) { $env:VF_PESTER_RUN = '{0:x4}' -f (Get-Random -Maximum 65535) }
    "$Prefix-$env:VF_PESTER_RUN"
}
