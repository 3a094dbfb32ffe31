# Playbooks as a user runs them: validate, preview with -WhatIf, apply, apply again ("No changes."), prune.
# Validation needs no hosts; applying runs on the 3-host lab (Linux and root only). Pester 6; see Common.ps1.
BeforeDiscovery {
    $canRunLab = $IsLinux -and ((id -u) -eq 0)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $name = Get-VfTestName pester-pb
    $group = Get-VfTestName pbgrp
    $prefix = Get-VfTestName pbw
    $playbook = Join-Path $TestDrive 'lab.yml'
    Set-Content -Path $playbook -Value @"
name: $name
hosts: ["vfh*"]
images:
  - name: win2008
networks:
  - name: vflab
securityGroups:
  - name: $group
    rules:
      - allow tcp 3389 from 0.0.0.0/0
instances:
  - namePrefix: $prefix
    count: 1
    image: win2008
    type: m1.small
    network: vflab
    groups: [$group]
    tags: [pester]
"@
    $prune = Join-Path $TestDrive 'cleanup.yml'
    Set-Content -Path $prune -Value @"
name: $name
prune: true
hosts: ["vfh*"]
"@
}

Describe 'Test-VfPlaybook' {
    It 'returns $true for a valid playbook' {
        Test-VfPlaybook $playbook | Should -BeTrue
    }

    It 'validates the shipped example playbook <File>' -ForEach @(
        @{ File = 'windows-lab.yml' }, @{ File = 'web-tier.yml' }, @{ File = 'nightly-suspend.yml' }, @{ File = 'cleanup.yml' }
    ) {
        Test-VfPlaybook (Join-Path $PSScriptRoot "../../playbooks/$File") | Should -BeTrue
    }

    It 'reports <Id> with file, line and column' -ForEach @(
        @{ Id = 'UnknownKey'; Yaml = "name: t`ninstances:`n  - name: a`n    imgae: x`n" }
        @{ Id = 'MissingKey'; Yaml = "instances:`n  - name: a`n    image: x`n" }
        @{ Id = 'UndefinedVariable'; Yaml = "name: t`ninstances:`n  - name: a`n    image: `${nope}`n" }
        @{ Id = 'YamlSyntax'; Yaml = "name: [t`n" }
    ) {
        $file = Join-Path $TestDrive "bad-$Id.yml"
        Set-Content -Path $file -Value $Yaml
        $valid = Test-VfPlaybook $file -ErrorVariable problems -ErrorAction SilentlyContinue
        $valid | Should -BeFalse
        $problems.FullyQualifiedErrorId | Should -Contain "$Id,VirtFleet.Cmdlets.Commands.TestVfPlaybookCommand"
        ($problems | Where-Object FullyQualifiedErrorId -Like "$Id,*" | Select-Object -First 1).TargetObject |
            Should -Match ([regex]::Escape("bad-$Id.yml") + ':\d+:\d+$')
    }

    It 'reports a missing file with PlaybookNotFound' {
        { Test-VfPlaybook (Join-Path $TestDrive 'nosuch.yml') -ErrorAction Stop } | Should -Throw -ErrorId 'PlaybookNotFound,*'
    }
}

Describe 'Invoke-VfPlaybook' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        Initialize-VfTestLab | Out-Null
    }
    AfterAll {
        Get-VfInstance "$prefix-*" -ErrorAction SilentlyContinue | Remove-VfInstance -Force -Confirm:$false
        Remove-VfSecurityGroup $group -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'shows the plan and changes nothing under -WhatIf' {
        $null = Invoke-VfPlaybook $playbook -WhatIf -InformationVariable plan
        $text = $plan.MessageData.Message -join "`n"
        $text | Should -Match ([regex]::Escape("+ instance $prefix-1"))
        $text | Should -Match ([regex]::Escape($group))
        Get-VfInstance "$prefix-*" | Should -BeNullOrEmpty
    }

    It 'applies the plan' {
        $summary = Invoke-VfPlaybook $playbook -Confirm:$false | Select-Object -Last 1
        $summary.Changed | Should -BeTrue
        $summary.Failed | Should -Be 0
        $made = Get-VfInstance "$prefix-*"
        $made.Name | Should -Be "$prefix-1"
        $made.SecurityGroups | Should -Contain $group
        (Get-VfSecurityGroup $group).Name | Should -Be $group
    }

    It 'changes nothing on the second run and says "No changes."' {
        $summary = Invoke-VfPlaybook $playbook -Confirm:$false -InformationVariable plan | Select-Object -Last 1
        $summary.Changed | Should -BeFalse
        $summary.Planned | Should -Be 0
        $plan.MessageData.Message -join "`n" | Should -Match 'No changes\.'
        @(Get-VfInstance "$prefix-*").Count | Should -Be 1
    }

    It 'writes a JSON report with -ReportPath' {
        $report = Join-Path $TestDrive 'report.json'
        Invoke-VfPlaybook $playbook -Confirm:$false -ReportPath $report | Out-Null
        (Get-Content $report -Raw | ConvertFrom-Json).Playbook | Should -Be $name
    }

    It 'removes what it created with prune: true' {
        $summary = Invoke-VfPlaybook $prune -Confirm:$false | Select-Object -Last 1
        $summary.Failed | Should -Be 0
        Get-VfInstance "$prefix-*" | Should -BeNullOrEmpty
    }
}
