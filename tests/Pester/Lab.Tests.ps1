# Pester 5 specs on the lab fleet, for Linux machines with pwsh, run as root:
#   Invoke-Pester tests/Pester/Lab.Tests.ps1
# The same scenarios run in-process on the engine in tests/Lab (xunit), which CI uses.
BeforeDiscovery {
    $script:canRun = $IsLinux -and ((id -u) -eq 0)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../../out/VirtFleet/VirtFleet.psd1') -Force
    $env:VIRTFLEET_KEYPAIRS = Join-Path ([IO.Path]::GetTempPath()) "vf-pester-keys-$PID"
}

Describe 'Lab fleet' -Skip:(-not $canRun) {
    BeforeAll {
        $lab = Start-VfLab -HostCount 3 -Confirm:$false
        $lab.GuestImages | Import-VfImage | Out-Null
        New-VfKeyPair pester -Force | Out-Null
    }
    AfterAll {
        Get-VfInstance | Remove-VfInstance -Confirm:$false
    }

    It 'has three healthy hosts reached with strict host keys' {
        $facts = Test-VfHost
        $facts.Count | Should -Be 3
        $facts | ForEach-Object { $_.Healthy | Should -BeTrue }
    }

    It 'reuses one connection per host within the session' {
        Test-VfHost | Out-Null
        Get-VfConnection | ForEach-Object { $_.Handshakes | Should -Be 1 }
    }

    It 'runs Windows and Linux instances side by side' {
        $win = New-VfInstance -Image win2008 -Count 3 -NamePrefix pwin -Confirm:$false
        $lin = New-VfInstance -Image vflinux -Count 3 -NamePrefix plin -InstanceType t1.micro -Network vflab -KeyPair pester -Wait -Confirm:$false
        ($win.Host | Sort-Object -Unique).Count | Should -Be 3
        ($lin.Host | Sort-Object -Unique).Count | Should -Be 3
        $lin | ForEach-Object {
            $_.Addresses.Count | Should -Be 1
            (Invoke-WebRequest "http://$($_.Addresses[0])/cloud.txt" -TimeoutSec 30).Content | Should -Match $_.Name
        }
    }

    It 'changes nothing under -WhatIf' {
        $before = (Get-VfInstance).Count
        Get-VfInstance | Remove-VfInstance -WhatIf
        (Get-VfInstance).Count | Should -Be $before
    }

    It 'refuses hostile names with InvalidArgument' -ForEach @(@{ N = 'a;touch /tmp/x' }, @{ N = '$(id)' }, @{ N = '-rf' }) {
        { New-VfInstance -Image vflinux -Name $N -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidInstanceName*'
        Test-Path /tmp/x | Should -BeFalse
    }

    It 'applies a playbook once and then reports no changes' {
        $playbook = Join-Path $PSScriptRoot '../../playbooks/windows-lab.yml'
        Invoke-VfPlaybook $playbook -Confirm:$false | Select-Object -Last 1 | ForEach-Object { $_.Changed | Should -BeTrue }
        Invoke-VfPlaybook $playbook -Confirm:$false | Select-Object -Last 1 | ForEach-Object { $_.Changed | Should -BeFalse }
        Invoke-VfPlaybook (Join-Path $PSScriptRoot '../../playbooks/cleanup.yml') -Confirm:$false | Out-Null
    }
}
