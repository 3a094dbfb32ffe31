# VirtFleet's main job on its local lab fleet, as root on Linux: ./build.sh demo runs it in pwsh
# (pwsh -NoProfile -File playbooks/demo.ps1); vfsh -File playbooks/demo.ps1 runs it too.
$ErrorActionPreference = 'Stop'
if (-not (Get-Module -Name VirtFleet)) {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../out/VirtFleet/VirtFleet.psd1')
}

# Three real hypervisor hosts (sshd + libvirtd in network namespaces); their inventory becomes this session's.
$lab = Start-VfLab -HostCount 3 -Confirm:$false
Test-VfHost | Out-Default

# The lab's guest images, built from Debian packages: a blank Windows-style disk and a tiny Linux guest.
$lab.GuestImages | Import-VfImage | ForEach-Object { "image $($_.Name) ($($_.OsFamily)) on $($_.Hosts -join ', ')" }
if (-not (Get-VfKeyPair -Name demo -ErrorAction SilentlyContinue)) { $null = New-VfKeyPair -Name demo }

# Windows HVM and Linux guests side by side, each from its OS template, placed least-loaded across the hosts,
# each with a NIC on the fleet's default network (the lab inventory's defaultNetwork: vflab).
New-VfInstance -Image win2008 -Count 3 -NamePrefix win -Confirm:$false | Out-Null
New-VfInstance -Image vflinux -Count 3 -NamePrefix web -InstanceType t1.micro -KeyPair demo -Wait -Confirm:$false | Out-Null

Get-VfInstance | Out-Default
Get-VfConnection | Out-Default
